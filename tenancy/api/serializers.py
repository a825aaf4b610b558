from rest_framework import serializers

from metastudio.jobs import Job, job_payload
from tenancy.models import AccessKey, AuditLog, Policy, User, UserGroup


class IamUserSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="pk", read_only=True)
    name = serializers.CharField(source="username", read_only=True)
    enabled = serializers.BooleanField(source="is_active", read_only=True)
    groups = serializers.SerializerMethodField()
    policies = serializers.SerializerMethodField()
    create_time = serializers.DateTimeField(source="date_joined", read_only=True)

    class Meta:
        model = User
        fields = ["user_id", "name", "email", "description", "enabled", "groups", "policies", "create_time"]

    def get_groups(self, user) -> list[str]:
        return [str(g.pk) for g in user.iam_groups.all()]

    def get_policies(self, user) -> list[str]:
        return [str(p.pk) for p in user.policies.all()]


class IamUserCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    password = serializers.CharField(write_only=True, max_length=128)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    groups = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    policies = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class IamUserUpdateSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, max_length=128, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    enabled = serializers.BooleanField(required=False)
    groups = serializers.ListField(child=serializers.UUIDField(), required=False)
    policies = serializers.ListField(child=serializers.UUIDField(), required=False)


class GroupSerializer(serializers.ModelSerializer):
    group_id = serializers.UUIDField(source="pk", read_only=True)
    members = serializers.SerializerMethodField()
    policies = serializers.SerializerMethodField()
    create_time = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = UserGroup
        fields = ["group_id", "name", "description", "members", "policies", "create_time"]

    def get_members(self, group) -> list[str]:
        return [str(u.pk) for u in group.members.all()]

    def get_policies(self, group) -> list[str]:
        return [str(p.pk) for p in group.policies.all()]


class GroupWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    members = serializers.ListField(child=serializers.UUIDField(), required=False)
    policies = serializers.ListField(child=serializers.UUIDField(), required=False)


class PolicySerializer(serializers.ModelSerializer):
    policy_id = serializers.UUIDField(source="pk", read_only=True)
    policy = serializers.JSONField(source="document")
    create_time = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Policy
        fields = ["policy_id", "name", "type", "description", "policy", "create_time"]
        read_only_fields = ["type"]


class PolicyWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255)
    policy = serializers.JSONField(required=False)


class AccessKeySerializer(serializers.ModelSerializer):
    access = serializers.CharField(source="access_key_id", read_only=True)
    user_id = serializers.UUIDField(source="user.pk", read_only=True)
    status = serializers.SerializerMethodField()
    create_time = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = AccessKey
        fields = ["access", "user_id", "description", "status", "create_time", "last_used_at"]

    def get_status(self, key) -> str:
        return "active" if key.is_active else "inactive"


class AccessKeyCreateSerializer(serializers.Serializer):
    user_id = serializers.UUIDField(required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class AuditLogSerializer(serializers.ModelSerializer):
    log_id = serializers.UUIDField(source="pk", read_only=True)
    time = serializers.DateTimeField(source="created_at")

    class Meta:
        model = AuditLog
        fields = ["log_id", "time", "actor_name", "action", "target_type", "target_id", "detail", "source_ip", "via",
                  "request_id"]


class ExportJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id"]

    def to_representation(self, job):
        data = job_payload(job)
        data["params"] = job.params
        data["result"] = job.result
        return data


class ExportJobCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["AUDIT_LOG"], default="AUDIT_LOG")
    format = serializers.CharField(required=False, default="CSV")
    start_time = serializers.CharField(required=False, allow_blank=True)
    end_time = serializers.CharField(required=False, allow_blank=True)
    action = serializers.CharField(required=False, allow_blank=True, max_length=64)
