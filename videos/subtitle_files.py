"""Subtitle sidecar files of rendered videos (MetaStudio's `CreateSubtitleFile` / `ShowSubtitleFile`).

`create_subtitle_file(actor, account, body)` queues a job (`videos.subtitle_file`) that writes one SRT or WebVTT
file from the timed words a finished render kept (`result["subtitle_words"]` of a `videos.render` job:
[text, start_s, end_s, paragraph_end, space_before] over the whole video; TEXT scenes timed by the speech
engine, AUDIO scenes by speech recognition). Body, as MetaStudio: `script_id` (the script's latest finished
video), `sequence_no` (one scene, timed from its own start; absent or 0: the whole video), `callback_config`.
Our extensions: `video_job_id` (a given render instead of the script's latest) and `format` SRT | VTT.

The cues are made by synthesis.compose.subtitles with the script's subtitle box and font size on the layout
canvas, so the sidecar's lines break where the burned-in captions do, with the SPEC's punctuation rules.
The file is the job's result file, served by `GET /subtitle-files/{job_id}/file`.
"""

from django.core.files.base import ContentFile

from metastudio import jobs
from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid
from metastudio.jobs import Job, JobFailure, JobKind, JobRun, register_kind
from tenancy.audit import Actor
from videos import video_jobs
from videos.models import VideoScript

SUBTITLE_FILE = register_kind(JobKind(name="videos.subtitle_file", label="Subtitle file", iam_resource="video",
                                      handler="videos.subtitle_files.make_subtitle_file", max_attempts=2,
                                      on_succeed="videos.callbacks.job_finished",
                                      on_fail="videos.callbacks.job_finished"))
RENDER_KIND = "videos.render"
FORMATS = {"SRT": ("srt", "application/x-subrip"), "VTT": ("vtt", "text/vtt")}
MAX_SEQUENCE_NO = 2_147_483_647


# --- the words -----------------------------------------------------------------------------------------------

def words_of(rows, window: tuple[float, float] | None = None) -> list:
    """Subtitle Words from stored rows; with a (start, end) window only the words starting inside it, timed
    from its start."""
    from synthesis.compose.subtitles import Word

    offset = window[0] if window else 0.0
    words = []
    for text, start, end, paragraph_end, space_before in rows:
        if window and not window[0] <= float(start) < window[1]:
            continue
        words.append(Word(str(text), float(start) - offset, float(end) - offset, bool(paragraph_end),
                          None if space_before is None else bool(space_before)))
    if words:
        words[-1].paragraph_end = True
    return words


def sidecar_cues(words: list, video_config: dict) -> list:
    """Cues broken for the script's subtitle box and font size, measured on the layout canvas (what the
    burned-in captions use, whatever the output size)."""
    from synthesis.compose.subtitles import cues_for_style
    from videos.rendering import subtitle_style

    canvas = video_config.get("canvas") or {"width": video_config.get("width", 1920),
                                            "height": video_config.get("height", 1080)}
    size = (int(canvas["width"]), int(canvas["height"]))
    return cues_for_style(words, size, subtitle_style({**video_config, "canvas": canvas}))


def subtitle_text(rows, video_config: dict, fmt: str, window: tuple[float, float] | None = None) -> str:
    """The SRT or WebVTT text of the stored word rows (whole video, or one scene's window)."""
    from synthesis.compose.subtitles import to_srt, to_vtt

    cues = sidecar_cues(words_of(rows, window), video_config)
    return to_srt(cues) if fmt == "SRT" else to_vtt(cues)


# --- creating ------------------------------------------------------------------------------------------------

def _render_of_script(account, script_id) -> Job:
    if not isinstance(script_id, str) or not is_uuid(script_id.strip()):
        raise NotFound(f"script {script_id} does not exist", field="script_id")
    if not VideoScript.objects.filter(account=account, pk=script_id.strip()).exists():
        raise NotFound(f"script {script_id} does not exist", field="script_id")
    render = (Job.objects.filter(account=account, kind=RENDER_KIND, state=Job.State.SUCCEED,
                                 params__script_id=script_id.strip()).in_history().order_by("-finished_at"))
    found = render.first()
    if found is None:
        raise StateConflict(f"script {script_id} has no finished video yet; render it first", field="script_id")
    return found


def _render_job(account, job_id) -> Job:
    field = "video_job_id"
    found = None
    if isinstance(job_id, str) and is_uuid(job_id.strip()):
        found = Job.objects.filter(account=account, kind=RENDER_KIND, pk=job_id.strip()).in_history().first()
    if found is None:
        raise NotFound(f"video job {job_id} does not exist", field=field)
    if found.state != Job.State.SUCCEED:
        raise StateConflict(f"video job {job_id} is {found.state}; its subtitles exist once it succeeded",
                            field=field)
    return found


def _sequence_no(value, render: Job) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQUENCE_NO:
        raise InvalidParameter(f"must be an integer from 0 to {MAX_SEQUENCE_NO}", field="sequence_no")
    scenes = len(render.params["snapshot"]["shoot_scripts"])
    if value > scenes:
        raise InvalidParameter(f"the video has {scenes} scenes; sequence_no is 1 to {scenes}, or 0 for all",
                               field="sequence_no")
    if value and not (render.result or {}).get("scene_times"):
        raise StateConflict("this video did not record its scene times; leave sequence_no out for the whole video",
                            field="sequence_no")
    return value


def create_subtitle_file(actor: Actor, account, body: dict, *, project=None) -> Job:
    """Queue the subtitle file of a finished render (see the module doc); every input is checked first."""
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object", field="body")
    if body.get("video_job_id") not in (None, ""):
        render = _render_job(account, body["video_job_id"])
    elif body.get("script_id") not in (None, ""):
        render = _render_of_script(account, body["script_id"])
    else:
        raise InvalidParameter("is required: the script whose latest video gets subtitles (or video_job_id)",
                               field="script_id")
    fmt = str(body.get("format") or "SRT").upper()
    if fmt not in FORMATS:
        raise InvalidParameter(f"must be {' or '.join(FORMATS)}", field="format")
    if "subtitle_words" not in (render.result or {}):
        raise StateConflict("this video kept no word timings (it was rendered before subtitle files existed); "
                            "render it again", field="video_job_id" if body.get("video_job_id") else "script_id")
    params = {"video_job_id": str(render.pk), "script_id": render.params.get("script_id"),
              "sequence_no": _sequence_no(body.get("sequence_no"), render), "format": fmt,
              "callback_config": video_jobs.clean_callback_config(body.get("callback_config"))}
    return jobs.submit(actor, account, SUBTITLE_FILE.name, params, project=project or render.project)


# --- the handler ---------------------------------------------------------------------------------------------

def make_subtitle_file(run: JobRun) -> dict:
    params = run.job.params
    render = Job.objects.filter(pk=params["video_job_id"], account=run.job.account).first()
    if render is None or render.state != Job.State.SUCCEED:
        raise JobFailure("the video job no longer exists or did not succeed")
    result = render.result or {}
    window = None
    if params["sequence_no"]:
        start, end = result["scene_times"][params["sequence_no"] - 1]
        window = (float(start), float(end))
    run.progress(50, "subtitles")
    from synthesis.compose.subtitles import CardFontMissing

    try:
        text = subtitle_text(result.get("subtitle_words") or [], render.params["snapshot"]["video_config"],
                             params["format"], window)
    except (CardFontMissing, ValueError) as error:
        raise JobFailure(f"subtitles: {error}") from None
    extension = FORMATS[params["format"]][0]
    run.attach_file(f"subtitles-{render.pk}-{params['sequence_no']}.{extension}", ContentFile(text.encode()))
    return {"video_job_id": str(render.pk), "sequence_no": params["sequence_no"], "format": params["format"],
            "cues": text.count(" --> ")}
