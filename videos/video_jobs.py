"""Video production jobs as MetaStudio's API sees them (`Create2DDigitalHumanVideo` and its siblings): the
actions behind `POST /2d-digital-human-videos` and its cancel, and the tenant's visible video history.

A job is made from a stored script (`script_id`), from the script fields sent inline (`model_asset_id`,
`voice_config`, `video_config`, `shoot_scripts`, `background_music_config`), or from both: as in MetaStudio, the
fields sent replace the script's. Whatever the source, the script is cleaned in full (videos.scripts.clean_script:
every limit, the tenant's usable assets, the voice) before the job is queued, so a bad body is refused with its
field and nothing is stored. The queued job (`videos.render`, see videos.rendering) carries a snapshot of the
cleaned script, so later edits of the script do not change it.

History: MetaStudio keeps video jobs for six months; older jobs are hidden from the list and their detail
answers 404 (`Job.objects.in_history()`: the engine's window, metastudio.jobs.HISTORY_DAYS). The rows and the VIDEO
assets stay (the assets have their own rules).
"""

from urllib.parse import urlsplit

from metastudio import jobs
from metastudio.errors import InvalidParameter, NotFound, is_uuid
from tenancy.audit import Actor
from videos import scripts
from videos.models import VideoScript

# The fields of Create2DDigitalHumanVideo that describe the script itself (they replace a stored script's).
SCRIPT_FIELDS = ("model_asset_id", "model_asset_type", "voice_config", "video_config", "shoot_scripts",
                 "background_music_config", "view_mode", "script_name", "script_description")
DEFAULT_VIDEO_NAME = "2D digital human video"
MAX_CALLBACK_URL = 2048
MAX_ASSET_NAME = 256


# --- input ---------------------------------------------------------------------------------------------------

def clean_callback_config(value, field: str = "callback_config") -> dict | None:
    """MetaStudio's CallBackConfig: an http(s) URL the platform POSTs the result to once the job ends.
    Only auth_type NONE (credentials in the URL) is offered: MSS_A would keep the caller's key in the job."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise InvalidParameter("must be an object with callback_url", field=field)
    url = value.get("callback_url")
    if not isinstance(url, str) or not url.strip():
        raise InvalidParameter("is required: an http or https URL", field=f"{field}.callback_url")
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_CALLBACK_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameter(f"must be an http or https URL of at most {MAX_CALLBACK_URL} characters",
                               field=f"{field}.callback_url")
    auth_type = value.get("auth_type") or "NONE"
    if auth_type != "NONE":
        raise InvalidParameter("only NONE is offered; put any credentials in the callback URL",
                               field=f"{field}.auth_type")
    return {"callback_url": url}


def _asset_name(output) -> str | None:
    if output is None:
        return None
    if not isinstance(output, dict):
        raise InvalidParameter("must be an object", field="output_asset_config")
    name = output.get("asset_name")
    if name in (None, ""):
        return None
    if not isinstance(name, str) or len(name.strip()) > MAX_ASSET_NAME or not name.strip():
        raise InvalidParameter(f"must be a name of at most {MAX_ASSET_NAME} characters",
                               field="output_asset_config.asset_name")
    return name.strip()


def _stored_script(account, script_id) -> VideoScript:
    if not isinstance(script_id, str) or not is_uuid(script_id.strip()):
        raise NotFound(f"script {script_id} does not exist", field="script_id")
    script = VideoScript.objects.filter(account=account, pk=script_id.strip()).first()
    if script is None:
        raise NotFound(f"script {script_id} does not exist", field="script_id")
    return script


def script_source(account, body: dict) -> tuple[VideoScript | None, dict]:
    """(the stored script or None, the script body to clean): the fields sent replace the stored script's."""
    inline = {key: body[key] for key in SCRIPT_FIELDS if body.get(key) is not None}
    script = _stored_script(account, body["script_id"]) if body.get("script_id") not in (None, "") else None
    if script is None:
        if not inline:
            raise InvalidParameter("send script_id (a stored script) or the script itself (model_asset_id, "
                                   "voice_config, video_config, shoot_scripts)", field="script_id")
        return None, {"script_name": DEFAULT_VIDEO_NAME, **inline}
    merged = {**scripts.script_body(script), **inline}
    if "model_asset_id" in inline and "model_asset_type" not in inline:
        merged.pop("model_asset_type", None)  # the new avatar decides its kind
    if "video_config" in inline and "view_mode" not in inline:
        merged.pop("view_mode", None)  # the new resolution decides it
    return script, merged


def voice_tier(account, cleaned: dict) -> str | None:
    """The TTS tier the render meters its characters under (None: no voice, every scene is audio)."""
    if not cleaned["voice_config"]:
        return None
    from voices import speech

    return speech.resolve_voice(account, cleaned["voice_config"]["voice_asset_id"]).tier


# --- actions -------------------------------------------------------------------------------------------------

def create_video_job(actor: Actor, account, body: dict, *, project=None) -> jobs.Job:
    """Queue the render of a script (stored, inline or both); everything is checked before the job exists.
    The engine refuses a 21st waiting job of the tenant (LimitExceeded)."""
    from videos import rendering

    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object", field="body")
    script, source = script_source(account, body)
    asset_name = _asset_name(body.get("output_asset_config"))
    callback = clean_callback_config(body.get("callback_config"))
    cleaned = scripts.clean_script(account, source)
    params = {"script_id": str(script.pk) if script else None, "snapshot": cleaned,
              "voice_tier": voice_tier(account, cleaned), "output_asset_name": asset_name,
              "callback_config": callback}
    return jobs.submit(actor, account, rendering.RENDER.name, params,
                       project=project or (script.project if script else None))
