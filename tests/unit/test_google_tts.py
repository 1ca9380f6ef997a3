"""Google Cloud Text-to-Speech: the pure wire format (``polymodal.apis.google_tts``) and the
``vertex_ai`` speech target. Bodies follow ``SynthesizeSpeechRequest`` of the TTS v1 API (the
contract tests validate them against the discovery document)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from polymodal import errors
from polymodal._speech import parse_speech
from polymodal._warn import DroppedParamWarning
from polymodal.apis import google_tts as tts
from polymodal.auth import google as gauth
from polymodal.options import pop_options
from polymodal.providers import target
from polymodal.routing import Route
from polymodal.types import SpeechRequest


def req(text: str = "hello", model: str = "chirp", **params: Any) -> SpeechRequest:
    return parse_speech(model, text, params)


def body(text: str = "hello", model: str = "chirp", **params: Any) -> dict[str, Any]:
    drop = params.pop("drop_params", False)
    return tts.encode(tts.check(req(text, model, **params), drop_params=drop))


def test_defaults() -> None:
    assert body() == {
        "input": {"text": "hello"},
        "voice": {"languageCode": "en-US"},
        "audioConfig": {"audioEncoding": "MP3"},
    }


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("en-US-Studio-O", "en-US"),
        ("en-GB-Neural2-A", "en-GB"),
        ("cmn-CN-Wavenet-A", "cmn-CN"),
        ("yue-HK-Standard-A", "yue-HK"),
        ("es-US-Chirp3-HD-Charon", "es-US"),
        ("Kore", None),
        ("custom", None),
    ],
)
def test_voice_names_carry_their_language(name: str, language: str | None) -> None:
    assert tts.language_of(name) == language
    assert body(voice=name)["voice"] == {"languageCode": language or "en-US", "name": name}


def test_voice_dicts() -> None:
    assert body(voice={"languageCode": "en-US", "name": "en-US-Studio-O"})["voice"] == {
        "languageCode": "en-US", "name": "en-US-Studio-O"}  # fmt: skip
    assert body(voice={"name": "de-DE-Wavenet-B"})["voice"] == {
        "name": "de-DE-Wavenet-B", "languageCode": "de-DE"}  # fmt: skip
    assert body(voice={"language_code": "fr-FR", "ssml_gender": "female"})["voice"] == {
        "languageCode": "fr-FR", "ssmlGender": "FEMALE"}  # fmt: skip
    assert body(language_code="ja-JP")["voice"] == {"languageCode": "ja-JP"}
    assert body(voice="Kore", language_code="de-DE")["voice"] == {"languageCode": "de-DE",
                                                                  "name": "Kore"}  # fmt: skip
    with pytest.raises(errors.BadRequestError, match="ssmlGender must be one of"):
        body(voice={"languageCode": "en-US", "ssmlGender": "robot"})
    with pytest.raises(errors.BadRequestError, match="disagrees"):
        body(voice={"languageCode": "en-US"}, language_code="de-DE")
    with pytest.raises(errors.BadRequestError, match="voice must be"):
        body(voice=["en-US"])


def test_openai_voices_are_not_google_voices() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="OpenAI voice") as exc:
        body(voice="alloy")
    assert exc.value.param == "voice"
    with pytest.warns(DroppedParamWarning, match="voice"):
        assert body(voice="alloy", drop_params=True)["voice"] == {"languageCode": "en-US"}


def test_gemini_tts_models_select_the_model_and_take_instructions() -> None:
    got = body("Have a wonderful day!", "gemini-2.5-flash-tts", voice="Kore",
               instructions="Say cheerfully")  # fmt: skip
    assert got["voice"] == {"languageCode": "en-US", "name": "Kore",
                            "modelName": "gemini-2.5-flash-tts"}  # fmt: skip
    assert got["input"] == {"text": "Have a wonderful day!", "prompt": "Say cheerfully"}
    own = body(model="gemini-2.5-pro-tts", voice={"languageCode": "en-US", "modelName": "x"})
    assert own["voice"]["modelName"] == "x"
    assert tts.is_gemini_tts("gemini-2.5-flash-preview-tts")
    assert not tts.is_gemini_tts("chirp")
    with pytest.raises(errors.UnsupportedParamsError, match="instructions"):
        body(model="chirp", instructions="warmly")


SSML = "<speak><p>Hello, world!</p></speak>"


def test_ssml_detected_or_forced() -> None:
    assert body(SSML)["input"] == {"ssml": SSML}
    assert body("\n<SPEAK>Hi</SPEAK>\n")["input"] == {"ssml": "\n<SPEAK>Hi</SPEAK>\n"}
    assert body(SSML, use_ssml=True)["input"] == {"ssml": SSML}
    # forced without a <speak> root: wrapped in one, as SSML requires
    assert body('Hi <break time="1s"/> there', use_ssml=True)["input"] == {
        "ssml": '<speak>Hi <break time="1s"/> there</speak>'
    }
    assert body("x < y", use_ssml=False)["input"] == {"text": "x < y"}
    with pytest.raises(errors.BadRequestError, match="use_ssml must be True or False"):
        body(use_ssml="yes")


@pytest.mark.parametrize(("fmt", "encoding"), [*tts.ENCODINGS.items()])
def test_response_format_becomes_audio_encoding(fmt: str, encoding: str) -> None:
    config = body(response_format=fmt)["audioConfig"]
    assert config["audioEncoding"] == encoding
    assert config.get("sampleRateHertz") == (24000 if fmt == "pcm" else None)


@pytest.mark.parametrize("fmt", ["aac", "flac", "LINEAR16"])
def test_other_formats_are_refused_or_dropped(fmt: str) -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="response_format"):
        body(response_format=fmt)
    with pytest.warns(DroppedParamWarning):
        assert body(response_format=fmt, drop_params=True)["audioConfig"] == {
            "audioEncoding": "MP3"
        }


def test_audio_config_passthrough_and_agreement() -> None:
    got = body(audioConfig={"audioEncoding": "LINEAR16", "speakingRate": "1.5",
                            "effectsProfileId": ["headphone-class-device"], "newField": 1})  # fmt: skip
    assert got["audioConfig"] == {"audioEncoding": "LINEAR16", "speakingRate": "1.5",
                                  "effectsProfileId": ["headphone-class-device"], "newField": 1}  # fmt: skip
    snake = body(audio_config={"audio_encoding": "OGG_OPUS", "volume_gain_db": -3})
    assert snake["audioConfig"] == {"audioEncoding": "OGG_OPUS", "volumeGainDb": -3}
    alone = body(pitch=2.5, sample_rate_hertz=16000, response_format="wav", speed=0.5)
    assert alone["audioConfig"] == {"pitch": 2.5, "sampleRateHertz": 16000,
                                    "audioEncoding": "LINEAR16", "speakingRate": 0.5}  # fmt: skip
    same = body(response_format="mp3", speed=1.5, audioConfig={"audioEncoding": "MP3",
                                                               "speakingRate": "1.5"})  # fmt: skip
    assert same["audioConfig"] == {"audioEncoding": "MP3", "speakingRate": 1.5}
    with pytest.raises(errors.BadRequestError, match=r"disagrees with audioConfig\.audioEncoding"):
        body(response_format="wav", audioConfig={"audioEncoding": "MP3"})
    with pytest.raises(errors.BadRequestError, match=r"disagrees with audioConfig\.speakingRate"):
        body(speed=2.0, audioConfig={"speakingRate": 1.0})


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"audioEncoding": "LINEAR22", "speakingRate": "10"}, "audioEncoding must be one of"),
        ({"speakingRate": "10"}, r"speakingRate must be from 0.25 to 2.0"),
        ({"speakingRate": "fast"}, "speakingRate must be a number"),
        ({"pitch": 25}, "pitch must be from -20.0 to 20.0"),
        ({"volumeGainDb": -100}, "volumeGainDb must be from -96.0 to 16.0"),
        ({"sampleRateHertz": "24k"}, "sampleRateHertz must be a positive integer"),
        ({"audioEncoding": "AUDIO_ENCODING_UNSPECIFIED"}, "audioEncoding must be one of"),
    ],
)
def test_audio_config_values_are_checked(config: dict[str, Any], match: str) -> None:
    with pytest.raises(errors.BadRequestError, match=match):
        body(audioConfig=config)


def test_speed_range_and_zero() -> None:
    with pytest.raises(errors.BadRequestError, match=r"speakingRate must be from 0\.25 to 2\.0"):
        body(speed=4.0)
    assert body(audioConfig={"speakingRate": 0})["audioConfig"]["speakingRate"] == 0


def test_input_limit_is_5000_bytes() -> None:
    body("é" * 2500)  # 5,000 bytes
    with pytest.raises(errors.BadRequestError, match="5001 bytes"):
        body("é" * 2500 + "x")


def test_unknown_params_and_advanced_options() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="stream_format"):
        body(stream_format="sse")
    got = body(advanced_voice_options={"lowLatencyJourneySynthesis": True})
    assert got["advancedVoiceOptions"] == {"lowLatencyJourneySynthesis": True}
    assert body(extra_body={"audioConfig": {"audioEncoding": "PCM"}})["audioConfig"] == {
        "audioEncoding": "PCM"}  # fmt: skip


# --------------------------------------------------------------------------- decode


def answer(audio: bytes) -> bytes:
    return json.dumps({"audioContent": base64.b64encode(audio).decode()}).encode()


WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
MP3 = b"\xff\xf3\x84\xc4" + b"\x00" * 12
OGG = b"OggS" + b"\x00" * 12


@pytest.mark.parametrize(
    ("fmt", "audio", "mime"),
    [
        ("mp3", MP3, "audio/mpeg"),
        ("wav", WAV, "audio/wav"),
        ("mulaw", WAV, "audio/wav"),
        ("alaw", WAV, "audio/wav"),
        ("opus", OGG, "audio/ogg"),
        ("m4a", b"\x00\x00\x00\x18ftypM4A ", "audio/mp4"),
        ("pcm", b"\xff\xf3" * 8, "audio/L16;rate=24000;channels=1"),  # never sniffed
    ],
)
def test_decode_types_the_audio(fmt: str, audio: bytes, mime: str) -> None:
    asked = tts.check(req(response_format=fmt))
    got = tts.decode(answer(audio), "application/json; charset=UTF-8", asked, provider="vertex_ai")
    assert (got.content, got.mime_type, got.response_format) == (audio, mime, fmt)
    assert got.model == "chirp"


def test_decode_pcm_rate_follows_the_request() -> None:
    asked = tts.check(req(response_format="pcm", sample_rate_hertz=16000))
    got = tts.decode(answer(b"\x00\x01"), "application/json", asked)
    assert got.mime_type == "audio/L16;rate=16000;channels=1"


def test_decode_errors() -> None:
    asked = tts.check(req())
    with pytest.raises(errors.InternalServerError, match="without audioContent"):
        tts.decode(b"{}", "application/json", asked)
    with pytest.raises(errors.InternalServerError, match="without audioContent"):
        tts.decode(b"ID3 not json", "audio/mpeg", asked)
    with pytest.raises(errors.InternalServerError, match="not base64"):
        tts.decode(b'{"audioContent": "@@@"}', "application/json", asked)
    with pytest.raises(errors.PolymodalError, match="quota"):
        tts.decode(b'{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}',
                   "application/json", asked)  # fmt: skip


# --------------------------------------------------------------------------- target


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    import polymodal

    for name in ("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(polymodal, "vertex_project", None, raising=False)


def test_tts_target_url_and_headers() -> None:
    found = target(Route("vertex_ai", "chirp"), "speech", pop_options({"api_key": "tok"}))
    assert found.endpoint.url == "https://texttospeech.googleapis.com/v1/text:synthesize"
    assert found.endpoint.headers == {"Authorization": "Bearer tok"}
    assert found.api is tts
    named = target(Route("vertex_ai", "test"), "speech",
                   pop_options({"api_key": "tok", "vertex_project": "billing-proj"}))  # fmt: skip
    assert named.endpoint.headers["x-goog-user-project"] == "billing-proj"


@pytest.mark.parametrize(
    ("api_base", "version", "url"),
    [
        ("http://127.0.0.1:8080", None, "http://127.0.0.1:8080/v1/text:synthesize"),
        ("http://proxy/google/", "v1beta1", "http://proxy/google/v1beta1/text:synthesize"),
        ("https://eu-texttospeech.googleapis.com/v1", None,
         "https://eu-texttospeech.googleapis.com/v1/text:synthesize"),
    ],
)  # fmt: skip
def test_tts_url_api_base_rule(api_base: str, version: str | None, url: str) -> None:
    found = target(Route("vertex_ai", "chirp"), "speech",
                   pop_options({"api_key": "t", "api_base": api_base, "api_version": version}))  # fmt: skip
    assert found.endpoint.url == url
    with pytest.raises(errors.BadRequestError, match="not a Text-to-Speech API version"):
        target(Route("vertex_ai", "chirp"), "speech", pop_options({"api_key": "t",
                                                                   "api_version": "v2"}))  # fmt: skip


def test_tts_credentials_name_the_quota_project(monkeypatch: pytest.MonkeyPatch) -> None:
    class Creds:
        project = "sa-project"
        quota_project: str | None = None

    creds = Creds()
    monkeypatch.setattr("polymodal.providers.vertex._credentials", lambda opts: creds)
    found = target(Route("vertex_ai", "chirp"), "speech", pop_options({}))
    assert isinstance(found.endpoint.auth, gauth.GoogleAuth)
    assert found.endpoint.headers == {"x-goog-user-project": "sa-project"}
    creds.quota_project = "quota-proj"  # GoogleAuth sets it from the credential itself
    assert target(Route("vertex_ai", "chirp"), "speech", pop_options({})).endpoint.headers == {}
    named = target(Route("vertex_ai", "chirp"), "speech", pop_options({"vertex_project": "mine"}))
    assert named.endpoint.headers == {"x-goog-user-project": "mine"}


def test_lyria_is_music_not_speech() -> None:
    with pytest.raises(errors.BadRequestError, match="generates music"):
        target(Route("vertex_ai", "lyria-002"), "speech", pop_options({"api_key": "t"}))
