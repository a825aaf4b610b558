def test_owner_lists_users(tenant, api):
    response = api(tenant.owner).get(f"/v1/{tenant.project_id}/iam/users")
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert response["X-Request-Id"]
