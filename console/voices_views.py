"""The console's voices and TTS: voice library (presets and trained voices with their model cards), the voice
training wizard (record in the browser, upload a package and the authorization letter, submit, follow the
audit and training live) and the TTS playground. Views parse input, call voices.actions and render."""

import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.cache import cache
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset, AssetFile
from console.assets_views import _json_error
from console.views import _actor, _attempt, _forbidden, console_page, json_action, refuse, wants_json
from metastudio.errors import InvalidParameter, ServiceError
from tenancy.permissions import user_can
from voices import actions, speech
from voices.api.serializers import recording_json, training_job_json
from voices.models import VoiceTrainingJob

State = VoiceTrainingJob.State
DEFAULT_REGION = "cn-north-4"
HIDDEN_VOICE_STATES = (Asset.State.DELETED, Asset.State.WAITING_DELETE)
LIVE_STATES = (State.SPLITTING, State.SYSTEM_AUDITING, State.AUDITING, State.WAITING, State.PROCESSING)
PROGRESS_STATES = (State.SPLITTING, State.SYSTEM_AUDITING, State.WAITING, State.PROCESSING)
SAMPLE_RATE = 22050
SAMPLE_CACHE_SECONDS = 24 * 3600
SAMPLE_TEXT = {  # a short sentence per preset language; others read the English one
    "zh": "大家好，欢迎使用数字人声音。",
    "yue": "大家好，歡迎使用數字人聲音。",
    "en": "Hello, this is a preview of my voice.",
    "ja": "こんにちは、これは私の声のサンプルです。",
    "ko": "안녕하세요, 제 목소리 샘플입니다.",
    "de": "Hallo, das ist eine Hörprobe meiner Stimme.",
    "fr": "Bonjour, voici un extrait de ma voix.",
    "es": "Hola, esta es una muestra de mi voz.",
    "it": "Ciao, questo è un campione della mia voce.",
    "pt": "Olá, esta é uma amostra da minha voz.",
    "ru": "Здравствуйте, это образец моего голоса.",
    "nl": "Hallo, dit is een voorbeeld van mijn stem.",
}
LANGUAGE_NAMES = {
    "zh": "Chinese (Mandarin)", "yue": "Cantonese", "en": "English", "ja": "Japanese", "ko": "Korean",
    "de": "German", "fr": "French", "es": "Spanish", "ru": "Russian", "ar": "Arabic", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "tr": "Turkish", "vi": "Vietnamese", "th": "Thai",
    "hi": "Hindi", "id": "Indonesian", "ms": "Malay", "sv": "Swedish", "cs": "Czech", "el": "Greek",
    "fi": "Finnish", "da": "Danish", "nb": "Norwegian", "uk": "Ukrainian", "he": "Hebrew", "hu": "Hungarian",
    "ro": "Romanian", "fa": "Persian", "ta": "Tamil", "bn": "Bengali",
}
FIRST_LANGUAGES = ("zh", "en")  # listed first; the rest alphabetically by name
TIERS = [
    (VoiceTrainingJob.Tier.BASIC, "Basic", "20 prompted sentences, recorded in the browser or uploaded"),
    (VoiceTrainingJob.Tier.MIDDLE, "Middle", "100 prompted sentences: a closer likeness"),
    (VoiceTrainingJob.Tier.ADVANCE, "Advanced", "one long recording (1 h or more), split automatically"),
]
CONSENT_TEXT = ("I confirm the speaker has authorized the use of their voice to make this voice model, as stated "
                "in the uploaded authorization letter.")


# --- helpers ------------------------------------------------------------------------------------

def _account_job(request, job_id) -> VoiceTrainingJob:
    job = (VoiceTrainingJob.objects.select_related("engine_job", "voice_asset")
           .filter(account=request.user.account, pk=job_id).first())
    if job is None:
        raise Http404
    return job


def _voice_assets(account):
    return Asset.objects.filter(account=account, type=Asset.Type.VOICE_MODEL).exclude(state__in=HIDDEN_VOICE_STATES)


def _account_voice(request, asset_id) -> Asset:
    asset = _voice_assets(request.user.account).filter(pk=asset_id).first()
    if asset is None:
        raise Http404
    return asset


def _sample_file(asset: Asset):
    return (asset.files.filter(category=AssetFile.Category.SAMPLE, state=AssetFile.State.CREATED)
            .exclude(stored="").first())


@contextmanager
def _uploaded_path(request, field: str = "file"):
    """(path, original name) of the uploaded file on disk: Django's temporary file, or the chunks written out."""
    upload = request.FILES.get(field)
    if upload is None:
        raise InvalidParameter("choose a file to upload", field=field)
    with tempfile.TemporaryDirectory(prefix="console-voice-") as folder:
        if hasattr(upload, "temporary_file_path"):
            path = Path(upload.temporary_file_path())
        else:
            path = Path(folder) / "upload"
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        yield path, upload.name or "upload", Path(folder)


def _job_state(job: VoiceTrainingJob) -> dict:
    """The job page's live view: the job with its sentences, what is missing and the engine job to follow."""
    return {
        "job": training_job_json(job, detail=True),
        "missing": actions.missing_material(job),
        "editable": job.state in VoiceTrainingJob.EDITABLE_STATES,
        "engine_job_id": str(job.engine_job_id) if job.engine_job_id else None,
        "engine_state": job.engine_job.state if job.engine_job else None,
    }


def _language_label(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _preset_groups() -> list[tuple[str, str, list]]:
    """[(language code, label, [VoiceInfo])], Chinese and English first."""
    groups: dict[str, list] = {}
    for voice in speech.preset_voices():
        groups.setdefault(voice.language, []).append(voice)
    order = sorted(groups, key=lambda code: (code not in FIRST_LANGUAGES, FIRST_LANGUAGES.index(code)
                                             if code in FIRST_LANGUAGES else 0, _language_label(code)))
    return [(code, _language_label(code), sorted(groups[code], key=lambda v: v.name)) for code in order]


def _project_id(account) -> str:
    project = account.projects.filter(region=DEFAULT_REGION).first() or account.projects.order_by("region").first()
    return project.project_id if project else ""


# --- voice library --------------------------------------------------------------------------------

def _job_rows(account) -> list[VoiceTrainingJob]:
    return list(VoiceTrainingJob.objects.filter(account=account).select_related("engine_job", "voice_asset")[:100])


@console_page("metastudio:voice:show")
def library(request):
    account = request.user.account
    voices = list(_voice_assets(account).order_by("-created_at"))
    return render(request, "console/voices/library.html", {
        "preset_groups": _preset_groups(),
        "voices": voices,
        "jobs": _job_rows(account),
        "progress_states": PROGRESS_STATES,
        "can_create": user_can(request.user, "metastudio:voice:create"),
        "can_tts": user_can(request.user, "metastudio:tts:create"),
        "live": user_can(request.user, "metastudio:job:show"),
    })


def _render_preset_sample(voice) -> bytes:
    from synthesis.speech import audio, synth
    from synthesis.speech.types import SynthesisOptions

    text = SAMPLE_TEXT.get(voice.language, SAMPLE_TEXT["en"])
    result = synth.synthesize(text, voice_id=voice.voice_id, options=SynthesisOptions(sample_rate=SAMPLE_RATE),
                              ssml=False)
    return audio.encode(result.pcm, result.sample_rate, "wav")


@require_GET
@console_page("metastudio:voice:show")
def preset_sample(request, voice_id):
    """A short sentence read by a preset voice, made on first demand and cached."""
    voice = next((v for v in speech.preset_voices() if v.voice_id == voice_id), None)
    if voice is None:
        raise Http404
    key = f"console:voice-sample:{voice_id}"
    data = cache.get(key)
    if data is None:
        data = _render_preset_sample(voice)
        cache.set(key, data, SAMPLE_CACHE_SECONDS)
    response = HttpResponse(data, content_type="audio/wav")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@console_page("metastudio:voice:show")
def voice_sample(request, asset_id):
    """The SAMPLE file of one of the tenant's trained voices."""
    sample = _sample_file(_account_voice(request, asset_id))
    if sample is None:
        raise Http404
    response = FileResponse(sample.stored.open("rb"), content_type="audio/wav", filename=sample.name)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


METRIC_LABELS = {"voice_tier": "Tier", "base_voice_id": "Base voice", "language": "Language", "sex": "Sex",
                 "method": "Method", "sentences": "Training sentences", "trained_at": "Trained at"}


@console_page("metastudio:voice:show")
def voice_detail(request, asset_id):
    """The model card of a trained voice: how it was made and its training metrics."""
    asset = _account_voice(request, asset_id)
    info = asset.media_info or {}
    metrics = info.get("metrics") or {}
    return render(request, "console/voices/voice.html", {
        "asset": asset,
        "card": [(label, info[key]) for key, label in METRIC_LABELS.items() if info.get(key) not in (None, "")],
        "metrics": sorted((key, value) for key, value in metrics.items() if not isinstance(value, (dict, list))),
        "sample_url": reverse("console:voice_sample", args=[asset.pk]) if _sample_file(asset) else "",
        "job": VoiceTrainingJob.objects.filter(account=request.user.account, voice_asset=asset).first(),
        "can_tts": user_can(request.user, "metastudio:tts:create") and asset.state == Asset.State.ACTIVED,
    })


# --- voice training wizard --------------------------------------------------------------------------

@console_page("metastudio:voice:show")
def new_job(request):
    """Step 1: tier, name, sex, language. Also lists the tenant's training jobs (voice production)."""
    can_create = user_can(request.user, "metastudio:voice:create")
    form = {"tier": VoiceTrainingJob.Tier.BASIC, "sex": "FEMALE", "language": "zh"}
    if request.method == "POST":
        if not can_create:
            return _forbidden(request, "metastudio:voice:create")
        form = request.POST
        created = []
        account = request.user.account

        def create():
            created.append(actions.create_training_job(
                _actor(request), account, tier=form.get("tier", ""), voice_name=form.get("voice_name", ""),
                sex=form.get("sex", "FEMALE"), language=form.get("language", "zh"),
                description=form.get("description", ""),
                project=account.projects.filter(region=DEFAULT_REGION).first() or account.projects.first(),
            ))

        if _attempt(request, create, "Voice training job created: record or upload the sentences."):
            return redirect("console:voice_job", job_id=created[0].pk)
    return render(request, "console/voices/new.html", {
        "tiers": TIERS, "form": form, "can_create": can_create, "jobs": _job_rows(request.user.account),
        "progress_states": PROGRESS_STATES, "live": user_can(request.user, "metastudio:job:show"),
    })


@console_page("metastudio:voice:show")
def job_detail(request, job_id):
    """Steps 2 and 3: the sentences with their checks, uploads, submit, then audit and training progress."""
    job = _account_job(request, job_id)
    state = _job_state(job)
    editable = state["editable"]
    user = request.user
    return render(request, "console/voices/job.html", {
        "job": job,
        "state": state,
        "sentences": state["job"]["sentences"],
        "editable": editable,
        "can_upload": editable and user_can(user, "metastudio:voice:upload"),
        "can_submit": editable and user_can(user, "metastudio:voice:submit"),
        "can_delete": job.state in VoiceTrainingJob.DELETABLE_STATES and user_can(user, "metastudio:voice:delete"),
        "live": job.state in LIVE_STATES,
        "show_progress": job.state in PROGRESS_STATES,
        "ws_live": user_can(user, "metastudio:job:show"),
        "audit_errors": (job.system_audit or {}).get("errors") or [],
        "review": job.admin_audit or {},
        "consent_text": CONSENT_TEXT,
        "advance": job.tier == VoiceTrainingJob.Tier.ADVANCE,
        "sample_url": (reverse("console:voice_sample", args=[job.voice_asset_id])
                       if job.voice_asset_id and _sample_file(job.voice_asset) else ""),
    })


@require_GET
@console_page("metastudio:voice:show")
def job_state(request, job_id):
    return JsonResponse(_job_state(_account_job(request, job_id)))


@require_GET
@console_page("metastudio:voice:show")
def recording_audio(request, job_id, index):
    """Play back a stored recording of the tenant's job."""
    job = _account_job(request, job_id)
    recording = job.recordings.filter(index=index).exclude(audio="").first()
    if recording is None:
        raise Http404
    response = FileResponse(recording.audio.open("rb"), content_type="audio/wav")
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@json_action("metastudio:voice:show", "metastudio:voice:upload")
def upload_recording(request, job_id, index):
    """One sentence recorded in the browser (a 16-bit mono WAV): checked at once; answers its status."""
    job = _account_job(request, job_id)
    try:
        with _uploaded_path(request) as (path, _name, _folder):
            recording = actions.upload_recording(_actor(request), job, index, path)
    except ServiceError as error:
        return _json_error(error)
    job.refresh_from_db()
    return JsonResponse({"sentence": recording_json(recording), "missing": actions.missing_material(job)})


def _answer_upload(request, job, work, success: str):
    """Run an upload action; JSON for the page's script, else a message and back to the job page."""
    if wants_json(request):
        try:
            work()
        except ServiceError as error:
            return _json_error(error)
        return JsonResponse({**_job_state(_account_job(request, job.pk)), "message": success})
    _attempt(request, work, success)
    return redirect("console:voice_job", job_id=job.pk)


@require_POST
@console_page("metastudio:voice:show")
def upload_package(request, job_id):
    """A zip of N.wav (+ N.txt) for every sentence, or the long recording of an ADVANCE job."""
    if not user_can(request.user, "metastudio:voice:upload"):
        return refuse(request, "metastudio:voice:upload")
    job = _account_job(request, job_id)

    def work():
        with _uploaded_path(request) as (path, name, folder):
            actions.upload_package(_actor(request), job, path, name, folder)

    return _answer_upload(request, job, work, "Package uploaded and checked.")


@require_POST
@console_page("metastudio:voice:show")
def upload_letter(request, job_id):
    if not user_can(request.user, "metastudio:voice:upload"):
        return refuse(request, "metastudio:voice:upload")
    job = _account_job(request, job_id)

    def work():
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidParameter("choose the authorization letter (PDF, PNG or JPG)", field="file")
        actions.upload_authorization_letter(_actor(request), job, upload.read(actions.LETTER_MAX_BYTES + 1),
                                            upload.name or "")

    return _answer_upload(request, job, work, "Authorization letter uploaded.")


@require_POST
@console_page("metastudio:voice:submit")
def submit_job(request, job_id):
    job = _account_job(request, job_id)

    def work():
        if request.POST.get("consent") != "on":
            raise InvalidParameter("confirm that the speaker has authorized the use of their voice", field="consent")
        actions.submit(_actor(request), job)

    _attempt(request, work, "Submitted: the recordings are checked, then a reviewer looks at them.")
    return redirect("console:voice_job", job_id=job.pk)


@require_POST
@console_page("metastudio:voice:delete")
def delete_job(request, job_id):
    job = _account_job(request, job_id)
    if _attempt(request, lambda: actions.delete_job(_actor(request), job), "Voice training job deleted."):
        return redirect("console:voices")
    return redirect("console:voice_job", job_id=job.pk)


# --- TTS playground ---------------------------------------------------------------------------------

@console_page("metastudio:tts:create")
def playground(request):
    from synthesis.speech.types import SAMPLE_RATES

    account = request.user.account
    groups = _preset_groups()
    mine = list(_voice_assets(account).filter(state=Asset.State.ACTIVED).order_by("name"))
    languages = {voice.voice_id: voice.language for _, _, voices in groups for voice in voices}
    languages.update({str(asset.pk): (asset.media_info or {}).get("language", "") for asset in mine})
    chosen = request.GET.get("voice", "")
    if chosen not in languages:
        chosen = next((v.voice_id for code, _, voices in groups if code == "zh" for v in voices), "")
    return render(request, "console/voices/playground.html", {
        "project_id": _project_id(account),
        "preset_groups": groups,
        "voices": mine,
        "chosen": chosen,
        "sample_rates": SAMPLE_RATES,
        "default_rate": 16000,
        "default_text": SAMPLE_TEXT.get(languages.get(chosen, ""), SAMPLE_TEXT["en"]),
        "sample_texts": SAMPLE_TEXT,
    })
