"""Per-tenant API rate limits of the product document (seed section 4.2, tables 4-3 and 4-4).

Table 4-3 gives a per-tenant limit for each region (华北-北京四 = cn-north-4, 华东-上海一 = cn-east-3,
亚太-新加坡 = ap-southeast-1); ``None`` means the document says "-" (API not offered in that region).
Table 4-4 gives one per-tenant limit that applies in every region plus a system-wide limit.
All values are requests per second.
"""
from dataclasses import dataclass

REGIONS = ("cn-north-4", "cn-east-3", "ap-southeast-1")
DEFAULT_REGION = "cn-north-4"


@dataclass(frozen=True)
class ApiRateLimit:
    key: str  # stable English key, e.g. "asset.create"
    category: str  # English category, e.g. "Digital asset management"
    name: str  # English API name, e.g. "Create asset"
    name_zh: str  # the Chinese API name exactly as in the document, e.g. "创建资产"
    per_tenant: dict  # {region: requests per second or None where the document says "-"}
    system: int | None = None  # system-wide limit (table 4-4 only)


# Table 4-3: (key, English name, Chinese name, cn-north-4, cn-east-3, ap-southeast-1), grouped by
# (English category, Chinese category), in document order.
_TABLE_4_3 = (
    (("Digital asset management", "数字资产管理"), (
        ("asset.create", "Create asset", "创建资产", 10, 5, 5),
        ("asset.list", "List assets", "查询资产列表", 20, 10, 10),
        ("asset.update", "Update asset", "更新资产", 10, 5, 5),
        ("asset.delete", "Delete asset", "删除资产", 10, 5, 5),
        ("asset.show", "Show asset", "查询资产详情", 20, 10, 10),
        ("asset.restore", "Restore deleted asset", "恢复被删除的资产", 10, 5, 5),
        ("asset.batch_action", "Batch asset action", "批量资产操作", 1, 1, 1),
        ("asset.summary", "Show asset summary", "查询资产概要", 20, 10, 10),
        ("asset.replication_info", "Show asset replication info", "查询资产复制信息", 20, 10, 10),
        ("asset.copy", "Copy asset", "复制资产", 4, 3, 3),
    )),
    (("File management", "文件管理"), (
        ("file.create", "Create file and get upload URL", "创建文件并获取上传URL", 10, 5, 5),
        ("file.delete", "Delete file", "删除文件", 10, 5, 5),
        ("file.complete", "Confirm file uploaded", "确认文件已上传", 10, 5, 5),
        ("file.create_multipart", "Create large file", "创建大文件", 10, 5, 5),
    )),
    (("Video script management", "视频制作剧本管理"), (
        ("video_script.create", "Create video script", "创建视频制作剧本", 10, 5, 5),
        ("video_script.list", "List video scripts", "查询视频制作剧本列表", 20, 10, 10),
        ("video_script.show", "Show video script", "查询视频制作剧本详情", 20, 10, 10),
        ("video_script.update", "Update video script", "更新视频制作剧本", 10, 5, 5),
        ("video_script.delete", "Delete video script", "删除视频制作剧本", 10, 5, 5),
        ("video_script.copy", "Copy video script", "复制视频制作剧本", 10, 5, 5),
    )),
    (("Digital human video job management", "数字人视频制作管理"), (
        ("video_job.list", "List video jobs", "查询视频制作任务列表", 20, 10, 10),
    )),
    (("Avatar video job management", "分身数字人视频制作管理"), (
        ("video_job.create", "Create avatar video job", "创建分身数字人视频制作任务", 5, 3, 3),
        ("video_job.show", "Show avatar video job", "查询分身数字人视频制作任务详情", 20, 10, 10),
        ("video_job.cancel", "Cancel waiting avatar video job",
         "取消等待中的分身数字人视频制作任务", 5, 3, 3),
    )),
    (("Digital human business card management", "数字人名片制作管理"), (
        ("business_card.create", "Create business card", "创建数字人名片制作", 5, 3, 3),
        ("business_card.list", "List business card jobs", "查询数字人名片制作任务列表", 20, 10, 10),
        ("business_card.show", "Show business card job", "查询数字人名片制作任务详情", 20, 10, 10),
        ("business_card.update", "Update business card", "更新数字人名片制作", 5, 3, 3),
        ("business_card.delete", "Delete business card job", "删除数字人名片制作任务", 5, 3, 3),
    )),
    (("Photo digital human video job management", "照片数字人视频制作管理"), (
        ("photo_video_job.create", "Create photo avatar video job",
         "创建照片分身数字人视频制作任务", 5, 3, 3),
        ("photo_video_job.show", "Show photo avatar video job",
         "查询照片分身数字人视频制作任务详情", 20, 10, 10),
        ("photo_video_job.cancel", "Cancel waiting photo avatar video job",
         "取消等待中的照片分身数字人视频制作任务", 5, 3, 3),
        ("photo_detection.create", "Create photo detection job", "创建照片检测任务", 5, 3, 3),
        ("photo_detection.show", "Show photo detection job", "查询照片检测任务详情", 20, 10, 10),
    )),
    (("Avatar subtitle file management", "分身数字人字幕文件生成管理"), (
        ("subtitle_file.create", "Create avatar video subtitle file", "创建分身数字人视频字幕文件", 5, 3, 3),
        ("subtitle_file.show", "Show avatar video subtitle file",
         "查询分身数字人视频字幕文件详情", 20, 10, 10),
    )),
    (("Smart live room management", "智能直播间管理"), (
        ("live_room.create", "Create smart live room", "创建智能直播间", 5, 3, 3),
        ("live_room.list", "List smart live rooms", "查询智能直播间列表", 20, 10, 10),
        ("live_room.show", "Show smart live room script", "查询智能直播间剧本详情", 20, 10, 10),
        ("live_room.update", "Update smart live room", "更新智能直播间信息", 5, 3, 3),
        ("live_room.delete", "Delete smart live room", "删除智能直播间", 4, 3, 3),
    )),
    (("Live job management", "直播任务管理"), (
        ("live_job.create", "Start smart live job", "启动数字人智能直播任务", 4, 3, 3),
        ("live_job.list", "List live jobs of a live room", "查询某个智能直播间下直播任务列表", 20, 10, 10),
        ("live_job.show", "Show smart live job", "查询数字人智能直播任务详情", 20, 10, 10),
        ("live_job.stop", "Stop smart live job", "结束数字人智能直播任务", 4, 3, 3),
        ("live_job.command", "Control live process", "控制数字人直播过程", 4, 3, 3),
        ("live_job.list_all", "List all live jobs of tenant", "查询租户所有数字人直播任务列表", 10, 5, 5),
        ("live_job.report_event", "Report live room event", "上报直播间事件", 4, 3, 3),
    )),
    (("Third-party live platform management", "第三方直播平台管理"), (
        ("live_platform.create", "Create third-party live platform", "创建第三方直播平台", 1, 1, 1),
        ("live_platform.update", "Update third-party live platform", "更新第三方直播平台信息", 1, 1, 1),
        ("live_platform.delete", "Delete third-party live platform", "删除第三方直播平台信息", 1, 1, 1),
        ("live_platform.list", "List live platforms", "查询直播平台列表", 20, 10, 10),
        ("live_platform.show", "Show third-party live platform", "查询第三方直播平台信息", 20, 10, 10),
        ("live_platform.list_products", "List third-party live platform products",
         "查询第三方直播平台商品列表", 5, 3, 3),
    )),
    (("Interaction rule library management", "互动规则库管理"), (
        ("live_interaction_rule.create", "Create live room interaction rule library",
         "创建智能直播间互动规则库", 4, 3, 3),
        ("live_interaction_rule.list", "List live room interaction rule libraries",
         "查询智能直播间互动规则库列表", 20, 10, 10),
        ("live_interaction_rule.update", "Update live room interaction rule library",
         "更新智能直播间互动规则库", 4, 3, 3),
        ("live_interaction_rule.delete", "Delete live room interaction rule library",
         "删除智能直播间互动规则库", 4, 3, 3),
    )),
    (("Live product management", "直播商品管理"), (
        ("product.create", "Create product", "创建商品", 4, 3, 3),
        ("product.list", "List products", "查询商品列表", 20, 10, 10),
        ("product.update", "Update product", "更新商品", 4, 3, 3),
        ("product.show", "Show product", "查询商品详情", 20, 10, 10),
        ("product.delete", "Delete product", "删除商品", 4, 3, 3),
        ("product.set_assets", "Configure product asset combination", "商品资产组合配置", 4, 3, 3),
    )),
    (("Intelligent interaction dialog management", "智能交互数字人对话管理"), (
        ("interaction_room.create", "Create intelligent interaction dialog", "创建智能交互对话", 5, 3, None),
        ("interaction_room.list", "List intelligent interaction dialogs", "查询智能交互对话列表", 20, 10, 10),
        ("interaction_room.show", "Show intelligent interaction dialog", "查询智能交互对话详情", 20, 10, 10),
        ("interaction_room.update", "Update intelligent interaction dialog",
         "更新智能交互对话信息", 5, 3, None),
        ("interaction_room.delete", "Delete intelligent interaction dialog", "删除智能交互对话", 5, 3, None),
    )),
    (("Intelligent interaction job management", "智能交互数字人对话任务管理"), (
        ("interaction_job.create_link", "Create dialog link", "创建对话链接", 5, 3, None),
        ("interaction_job.create", "Start intelligent interaction job", "启动数字人智能交互任务", 5, 3, None),
        ("interaction_job.list", "List intelligent interaction jobs", "查询数字人智能交互任务列表", 20, 10, 10),
        ("interaction_job.stop", "Stop intelligent interaction job", "结束数字人智能交互任务", 5, 3, None),
        ("interaction_job.show", "Show intelligent interaction job", "查询数字人智能交互任务", 20, 10, 10),
    )),
    (("Intelligent interaction application management", "智能交互数字人应用管理"), (
        ("interaction_app.create", "Create application", "创建应用", 5, 3, None),
        ("interaction_app.list", "List applications", "查询应用列表", 20, 10, 10),
        ("interaction_app.show", "Show application", "查询应用详情", 20, 10, 10),
        ("interaction_app.update", "Update application", "修改应用", 5, 10, None),
        ("interaction_app.delete", "Delete application", "删除应用", 5, 3, None),
    )),
    (("Intelligent interaction auth code management", "智能交互数字人鉴权码管理"), (
        ("auth_code.create", "Create one-time auth code", "创建一次性鉴权码", 20, 10, None),
    )),
    (("Intelligent interaction activation code management", "智能交互数字人激活码管理"), (
        ("activation_code.create", "Create activation code", "创建激活码", 5, 3, None),
        ("activation_code.list", "List activation codes", "查询激活码列表", 20, 10, 10),
        ("activation_code.show", "Show activation code", "查询激活码详情", 20, 10, 10),
        ("activation_code.update", "Update activation code", "修改激活码", 5, 3, None),
        ("activation_code.reset", "Reset activation code", "重置激活码", 5, 3, None),
        ("activation_code.delete", "Delete activation code", "删除激活码", 5, 3, None),
    )),
    (("Knowledge base skill management", "智能交互数字人知识库技能管理"), (
        ("knowledge_skill.create", "Create knowledge skill", "创建知识库技能", 4, 3, 3),
        ("knowledge_skill.list", "List knowledge skills", "查询知识库技能列表", 20, 10, 10),
        ("knowledge_skill.update", "Update knowledge skill", "修改知识库技能", 4, 3, 3),
        ("knowledge_skill.show", "Show knowledge skill", "查询知识库技能详情", 20, 10, 10),
        ("knowledge_skill.delete", "Delete knowledge skill", "删除知识库技能", 4, 3, 3),
        ("knowledge_skill.export", "Export knowledge skill", "导出知识库技能", 1, 1, 1),
    )),
    (("Knowledge base intent management", "智能交互数字人知识库意图管理"), (
        ("knowledge_intent.create", "Create knowledge intent", "创建知识库意图", 4, 3, 3),
        ("knowledge_intent.list", "List knowledge intents", "查询知识库意图列表", 20, 10, 10),
        ("knowledge_intent.show", "Show knowledge intent", "查询知识库意图详情", 20, 10, 10),
        ("knowledge_intent.update", "Update knowledge intent", "修改知识库意图", 4, 3, 3),
        ("knowledge_intent.delete", "Delete knowledge intent", "删除知识库意图", 4, 3, 3),
        ("knowledge_intent.create_with_questions", "Create knowledge intent and questions",
         "创建知识库意图和问法", 4, 3, 3),
    )),
    (("Knowledge base question management", "智能交互数字人知识库问法管理"), (
        ("knowledge_question.create", "Create knowledge question", "创建知识库问法", 4, 3, 3),
        ("knowledge_question.list", "List knowledge questions", "查询知识库问法列表", 20, 10, 10),
        ("knowledge_question.show", "Show knowledge question", "查询知识库问法详情", 20, 10, 10),
        ("knowledge_question.update", "Update knowledge question", "修改知识库问法", 4, 3, 3),
        ("knowledge_question.delete", "Delete knowledge question", "删除知识库问法", 4, 3, 3),
        ("knowledge_question.batch_create", "Batch create knowledge questions", "批量创建知识库问法", 1, 1, 1),
        ("knowledge_question.batch_update", "Batch update knowledge questions", "批量修改知识库问法", 1, 1, 1),
    )),
    (("Welcome speech management", "智能交互数字人欢迎词管理"), (
        ("welcome_speech.create", "Create welcome speech", "创建欢迎词", 4, 3, 3),
        ("welcome_speech.list", "List welcome speeches", "查询欢迎词列表", 20, 10, 10),
        ("welcome_speech.show", "Show welcome speech", "查询欢迎词详情", 20, 10, 10),
        ("welcome_speech.update", "Update welcome speech", "修改欢迎词", 4, 3, 3),
        ("welcome_speech.delete", "Delete welcome speech", "删除欢迎词", 4, 3, 3),
        ("welcome_speech.set_switch", "Update welcome speech switch", "修改欢迎词功能开关", 4, 3, 3),
        ("welcome_speech.show_switch", "Show welcome speech switch", "查询欢迎词功能开关", 20, 10, 10),
    )),
    (("Hot question management", "智能交互数字人热点问题管理"), (
        ("hot_question.create", "Create hot question", "创建热点问题", 4, 3, 3),
        ("hot_question.list", "List hot questions", "查询热点问题列表", 20, 10, 10),
        ("hot_question.show", "Show hot question", "查询热点问题详情", 20, 10, 10),
        ("hot_question.update", "Update hot question", "修改热点问题", 4, 3, 3),
        ("hot_question.delete", "Delete hot question", "删除热点问题", 4, 3, 3),
    )),
    (("Hot word management", "智能交互数字人热词记录管理"), (
        ("hot_word.create", "Create hot word record", "创建热词记录", 4, 3, 3),
        ("hot_word.list", "List hot word records", "查询热词记录列表", 20, 10, 10),
        ("hot_word.show", "Show hot word record", "查询配置热词记录详情", 20, 10, 10),
        ("hot_word.update", "Update hot word record", "修改热词记录", 4, 3, 3),
        ("hot_word.delete", "Delete hot word record", "删除热词记录", 4, 3, 3),
        ("hot_word.set_switch", "Update hot word switch", "修改热词功能开关", 4, 3, 3),
        ("hot_word.show_switch", "Show hot word switch", "查询热词功能开关", 20, 10, 10),
    )),
    (("Agency management", "智能交互数字人委托管理"), (
        ("agency.show", "Show agency", "查询委托", 20, 10, 10),
        ("agency.create", "Create agency", "创建委托", 1, 1, None),
        ("agency.delete", "Delete agency", "删除委托", 1, 1, None),
    )),
    (("Dialog result report configuration management", "智能交互数字人对话结果上报配置管理"), (
        ("dialog_report_config.create", "Create dialog result report config", "创建对话结果上报配置", 1, 1, 1),
        ("dialog_report_config.show", "Show dialog result report config", "查询对话结果上报配置", 20, 10, 10),
        ("dialog_report_config.update", "Update dialog result report config", "修改对话结果上报配置", 1, 1, 1),
        ("dialog_report_config.delete", "Delete dialog result report config", "删除对话结果上报配置", 1, 1, 1),
    )),
    (("Avatar model training management", "分身形象制作管理"), (
        ("avatar_training.create", "Create avatar model training job", "创建分身数字人模型训练任务", 10, 3, 3),
        ("avatar_training.list", "List avatar model training jobs",
         "查询分身数字人模型训练任务列表", 20, 10, 10),
        ("avatar_training.show", "Show avatar model training job",
         "查询分身数字人模型训练任务详情", 20, 10, 10),
        ("avatar_training.delete", "Delete avatar model training job", "删除分身数字人模型训练任务", 10, 3, 3),
        ("avatar_training.update", "Update avatar model training job", "更新分身数字人模型训练任务", 10, 3, 3),
        ("avatar_training.command", "Execute avatar model training job command",
         "租户执行分身数字人模型训练任务命令", 10, 3, 3),
    )),
    (("Voice training job management", "声音制作任务管理"), (
        ("voice_training.audio_duration", "Show configured personalized audio duration",
         "查询用户配置的个性化音频时长", 20, 10, 10),
        ("voice_training.create_basic", "Create basic voice training job", "创建基础版语音训练任务", 10, 3, 3),
        ("voice_training.create_middle", "Create intermediate voice training job",
         "创建进阶版语音训练任务", 10, 3, 3),
        ("voice_training.create_advanced", "Create advanced voice training job",
         "创建高级版语音训练任务", 10, 3, 3),
        ("voice_training.list", "List voice training jobs", "查询语音训练任务列表", 20, 10, 10),
        ("voice_training.submit", "Submit voice training job", "提交语音训练任务", 10, 3, 3),
        ("voice_training.show", "Show voice training job", "查询语音训练任务详情", 20, 10, 10),
        ("voice_training.delete", "Delete voice training job", "删除语音训练任务", 10, 3, 3),
        ("voice_training.operation_log", "List job operation logs", "查询任务操作日志", 20, 10, 10),
        ("voice_training.upload_url", "Get voice file upload URL", "获取语音文件上传地址", 20, 10, 10),
        ("voice_training.review_result", "Get voice training job review result",
         "获取语音训练任务审核结果", 20, 10, 10),
        ("voice_training.set_batch", "Set job batch", "设置任务批次", 10, 3, 3),
        ("voice_training.confirm_recording", "Confirm online recording result", "确认在线录音结果", 10, 3, 3),
        ("voice_training.recording_result", "Get online recording confirmation result",
         "获取在线录音确认结果", 20, 10, 10),
    )),
    (("Speech synthesis management", "语音合成管理"), (
        ("tts.validate_voice", "Check voice model availability (own and third-party voices)",
         "校验音色模型是否可用（自研和第三方音色）", 10, 3, 3),
        ("tts.phonetic_symbol", "Get English word phonetic symbols", "获取英文单词音标", 10, 3, 3),
    )),
    (("Synchronous speech synthesis management", "语音合成同步任务管理"), (
        ("tts.websocket", "Synchronous speech synthesis WebSocket API", "语音同步合成WebSocket接口", 10, 3, 3),
    )),
    (("Asynchronous speech synthesis management", "语音合成异步任务管理"), (
        ("tts.audition_create", "Create TTS audition job", "创建TTS试听任务", 5, 3, 3),
        ("tts.audition_file", "Get TTS audition file", "获取TTS试听文件", 20, 10, 10),
        ("tts.async_create", "Create TTS async job", "创建TTS异步任务", 5, 3, 3),
        ("tts.async_show", "Get TTS async job", "获取TTS异步任务", 20, 10, 10),
    )),
    (("Speech synthesis tenant configuration management", "语音合成租户级配置管理"), (
        ("tts_reading.create", "Set TTS tenant custom reading config", "设置TTS租户级自定义读法配置", 10, 3, 3),
        ("tts_reading.list", "Get TTS tenant custom reading config", "获取TTS租户级自定义读法配置", 20, 10, 10),
        ("tts_reading.delete", "Delete TTS tenant custom reading config",
         "删除TTS租户级自定义读法配置", 10, 3, 3),
        ("tts_reading.update", "Update TTS tenant custom reading config",
         "修改TTS租户级自定义读法配置", 10, 3, 3),
        ("tts_vocabulary_group.create", "Set TTS tenant vocabulary group config",
         "设置TTS租户级词表分组配置", 10, 3, 3),
        ("tts_vocabulary_group.list", "List TTS tenant vocabulary groups", "获取TTS租户级词表分组列表", 20, 10, 10),
        ("tts_vocabulary_group.rename", "Rename TTS tenant vocabulary group", "TTS租户级词表分组重命名", 10, 3, 3),
        ("tts_vocabulary_group.delete", "Delete TTS tenant vocabulary group", "删除TTS租户级词表分组", 10, 3, 3),
        ("tts_vocabulary_group.set_assets", "Set assets of TTS tenant vocabulary group",
         "设置TTS租户级词表分组的资产列表", 10, 3, 3),
        ("tts_config.set", "Set tenant config", "设置租户级配置", 10, 3, 3),
        ("tts_config.show", "Get tenant global config", "获取租户级全局配置", 20, 10, 10),
    )),
    (("Import and export management", "导入导出管理"), (
        ("export.template", "Download import template", "下载信息导入模板", 1, 1, 1),
        ("export.download", "Download import or export result file", "下载导入或导出的结果文件", 1, 1, 1),
        ("export.list", "List import/export jobs", "分页查询导入导出任务列表", 20, 10, 10),
        ("export.delete", "Delete import/export job", "删除导入导出任务", 1, 1, 1),
        ("export.show", "Show import/export job", "查询导入导出任务详情", 20, 10, 10),
        ("export.import", "Import file", "导入文件", 1, 1, 1),
        ("export.create", "Export file", "导出文件", 1, 1, 1),
    )),
)

# Table 4-4: (key, English name, Chinese name, per-tenant limit in every region, system-wide limit).
_TABLE_4_4 = (
    (("Data analysis management", "数据分析管理"), (
        ("analytics.user_data_detail", "Show user data details", "查询用户数据详情", 10, 20),
        ("analytics.user_data_summary", "Show user data overview", "查询用户数据概览", 10, 20),
    )),
    (("Tenant management", "租户管理"), (
        ("tenant.resources_usage", "Show tenant resource usage", "查看租户资源用量信息", 10, 20),
        ("tenant.resources", "List tenant resources", "查看租户资源列表", 10, 20),
        ("tenant.resources_count", "Count resources in time range", "统计时间段内资源数量", 10, 20),
    )),
    (("Order management", "订购管理"), (
        ("order.create", "Order MetaStudio cloud service product", "订购metastudio云服务产品", 1, 10),
    )),
)


def _build() -> dict[str, ApiRateLimit]:
    table: dict[str, ApiRateLimit] = {}

    def add(entry: ApiRateLimit) -> None:
        if entry.key in table:
            raise ValueError(f"duplicate rate-limit key {entry.key!r}")
        table[entry.key] = entry

    for (category, _category_zh), rows in _TABLE_4_3:
        for key, name, name_zh, *limits in rows:
            add(ApiRateLimit(key, category, name, name_zh, dict(zip(REGIONS, limits, strict=True))))
    for (category, _category_zh), rows in _TABLE_4_4:
        for key, name, name_zh, per_tenant, system in rows:
            add(ApiRateLimit(key, category, name, name_zh, dict.fromkeys(REGIONS, per_tenant), system))
    return table


RATE_LIMITS: dict[str, ApiRateLimit] = _build()

# Chinese category name of each English category (document wording).
CATEGORY_ZH: dict[str, str] = {en: zh for (en, zh), _rows in _TABLE_4_3 + _TABLE_4_4}


def limit_for(key: str, region: str) -> int | None:
    """Per-tenant requests per second of API `key` in `region`; KeyError for an unknown key or region."""
    if region not in REGIONS:
        raise KeyError(region)
    return RATE_LIMITS[key].per_tenant[region]
