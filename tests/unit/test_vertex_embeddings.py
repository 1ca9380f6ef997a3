"""Vertex AI and Gemini embeddings: the pure wire formats and where the providers send them.

``polymodal.apis.vertex_embeddings`` (``:predict``: text models, gemini-embedding-001,
multimodalembedding@001), ``polymodal.apis.gemini_embeddings`` (``embedContent`` on Vertex,
``batchEmbedContents`` on AI Studio) and the ``target`` functions of ``providers.vertex`` and
``providers.google_ai_studio``. Expected bodies are written out by hand from Google's API
reference (the contract tests compare them with google-genai's own client).
"""

from __future__ import annotations

import base64
import warnings
from typing import Any

import pytest

from polymodal import errors
from polymodal._warn import DroppedParamWarning
from polymodal.apis import gemini_embeddings as gem
from polymodal.apis import vertex_embeddings as ve
from polymodal.options import pop_options
from polymodal.providers import target
from polymodal.routing import Route
from polymodal.types import EmbeddingRequest, ImagePart, MediaSource, VideoPart

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def req(model: str, inputs: list[Any], **kw: Any) -> EmbeddingRequest:
    return EmbeddingRequest(model, inputs, **kw)


def body(model: str, inputs: list[Any], dialect: str | None = None, **kw: Any) -> dict[str, Any]:
    d = dialect or ve.dialect_for(model)
    return ve.encode(ve.check(req(model, inputs, **kw), dialect=d), dialect=d)


# --------------------------------------------------------------------------- dialects


@pytest.mark.parametrize(
    ("model", "dialect", "limit"),
    [
        ("text-embedding-004", "text", 250),
        ("text-embedding-005", "text", 250),
        ("text-multilingual-embedding-002", "text", 250),
        ("textembedding-gecko@003", "text", 250),
        ("textembedding-gecko-multilingual@001", "text", 250),
        ("text-embedding-preview-0409", "text", 250),
        ("gemini-embedding-001", "single", 1),
        ("multimodalembedding@001", "multimodal", 1),
        ("multimodalembedding", "multimodal", 1),
    ],
)
def test_dialects_and_limits(model: str, dialect: str, limit: int) -> None:
    assert ve.dialect_for(model) == dialect
    assert ve.max_inputs(dialect) == limit


# --------------------------------------------------------------------------- text models


def test_plain_text_body_has_no_parameters() -> None:
    assert body("text-embedding-005", ["a", "b"]) == {
        "instances": [{"content": "a"}, {"content": "b"}]
    }


def test_every_text_mapping() -> None:
    got = body(
        "text-embedding-004",
        ["good morning from litellm", "gm"],
        input_type="retrieval_document",
        dimensions=1,
        provider_params={"title": "test", "auto_truncate": True},
    )
    assert got == {
        "instances": [
            {"content": "good morning from litellm", "task_type": "RETRIEVAL_DOCUMENT",
             "title": "test"},
            {"content": "gm", "task_type": "RETRIEVAL_DOCUMENT", "title": "test"},
        ],
        "parameters": {"outputDimensionality": 1, "autoTruncate": True},
    }  # fmt: skip


@pytest.mark.parametrize("task", ve.TASK_TYPES)
def test_every_task_type_is_taken_from_input_type_or_task_type(task: str) -> None:
    a = body("text-embedding-005", ["x"], input_type=task)
    b = body("text-embedding-005", ["x"], provider_params={"task_type": task.lower()})
    assert a == b == {"instances": [{"content": "x", "task_type": task}]}


def test_task_type_problems_are_clear() -> None:
    with pytest.raises(errors.BadRequestError, match="input_type must be one of RETRIEVAL_QUERY"):
        body("text-embedding-005", ["x"], input_type="search")
    with pytest.raises(errors.BadRequestError, match="disagree") as exc:
        body("text-embedding-005", ["x"], input_type="RETRIEVAL_QUERY",
             provider_params={"task_type": "CLUSTERING"})  # fmt: skip
    assert exc.value.param == "task_type"
    with pytest.raises(errors.BadRequestError, match="title applies only to documents"):
        body("text-embedding-005", ["x"], input_type="RETRIEVAL_QUERY",
             provider_params={"title": "t"})  # fmt: skip
    with pytest.raises(errors.BadRequestError, match="auto_truncate must be True or False"):
        body("text-embedding-005", ["x"], provider_params={"auto_truncate": "yes"})
    with pytest.raises(errors.BadRequestError, match="encoding_format"):
        body("text-embedding-005", ["x"], encoding_format="int8")


def test_unknown_params_are_refused_or_dropped_with_a_warning() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="colour") as exc:
        body("text-embedding-005", ["x"], provider_params={"colour": "red"})
    assert exc.value.param == "colour"
    with pytest.raises(errors.UnsupportedParamsError, match="user"):
        body("text-embedding-005", ["x"], user="u-1")
    asked = req("text-embedding-005", ["x"], user="u", provider_params={"colour": "red"})
    with pytest.warns(DroppedParamWarning, match="colour"):
        checked = ve.check(asked, dialect="text", drop_params=True)
    assert ve.encode(checked) == {"instances": [{"content": "x"}]}


def test_extra_body_is_merged_as_given() -> None:
    got = body("text-embedding-005", ["x"], extra_body={"parameters": {"autoTruncate": False}})
    assert got["parameters"] == {"autoTruncate": False}


def test_text_models_take_text_only() -> None:
    for item in ({"image": "gs://b/a.png"}, ImagePart(MediaSource(url="gs://b/a.png"))):
        with pytest.raises(errors.BadRequestError, match="embeds text only"):
            body("text-embedding-005", ["ok", item])
    with pytest.raises(errors.BadRequestError, match="not token ids"):
        body("text-embedding-005", [[1, 2, 3]])
    with pytest.raises(errors.BadRequestError, match=r"input\[1\]: the text is empty"):
        body("text-embedding-005", ["a", "  "])
    # a gs:// string is just text for a text model, and {"text": ...} is always text
    assert body("text-embedding-005", ["gs://b/a.png", {"text": "b"}]) == {
        "instances": [{"content": "gs://b/a.png"}, {"content": "b"}]
    }


# --------------------------------------------------------------------------- multimodal

MM = "multimodalembedding@001"


def test_multimodal_items_one_per_instance_in_order() -> None:
    items = [
        "hey",
        "gs://cloud-samples-data/vertex-ai/llm/prompts/landmark1.png",
        "gs://my-bucket/embeddings/supermarket-video.mp4",
        PNG_URL,
        {"text": "gs://looks/like/a.png"},
        {"image": "gs://b/c.jpg", "mime_type": "image/jpeg"},
        {"video": "gs://b/v.mov", "start_offset_sec": 10, "end_offset_sec": 70, "interval_sec": 20},
        {"video": PNG, "videoSegmentConfig": {"intervalSec": 4}},
        ImagePart(MediaSource(data=base64.b64encode(PNG).decode(), mime_type="image/png")),
        VideoPart(MediaSource(url="gs://b/clip.mp4")),
    ]
    got = body(MM, items, dimensions=None)
    b64 = base64.b64encode(PNG).decode()
    assert got == {
        "instances": [
            {"text": "hey"},
            {"image": {"gcsUri": "gs://cloud-samples-data/vertex-ai/llm/prompts/landmark1.png"}},
            {"video": {"gcsUri": "gs://my-bucket/embeddings/supermarket-video.mp4"}},
            {"image": {"bytesBase64Encoded": b64}},
            {"text": "gs://looks/like/a.png"},
            {"image": {"gcsUri": "gs://b/c.jpg"}},
            {"video": {"gcsUri": "gs://b/v.mov",
                       "videoSegmentConfig": {"startOffsetSec": 10, "endOffsetSec": 70,
                                              "intervalSec": 20}}},
            {"video": {"bytesBase64Encoded": b64, "videoSegmentConfig": {"intervalSec": 4}}},
            {"image": {"bytesBase64Encoded": b64}},
            {"video": {"gcsUri": "gs://b/clip.mp4"}},
        ]
    }  # fmt: skip


@pytest.mark.parametrize("dim", ve.MULTIMODAL_DIMENSIONS)
def test_multimodal_dimension(dim: int) -> None:
    got = body(MM, ["a", {"image": "gs://b/a.png"}], dimensions=dim)
    assert got["parameters"] == {"dimension": dim}


@pytest.mark.parametrize(
    ("items", "kw", "match"),
    [
        (["a"], {"dimensions": 100}, "dimensions must be one of 128, 256, 512, 1408"),
        (["gs://b/v.mp4"], {"dimensions": 256}, "video vectors are always 1408"),
        ([{"image": "https://example.com/a.png"}], {}, "reads images only from Cloud Storage"),
        (["gs://b/archive.zip"], {}, "cannot tell whether"),
        ([{"image": "gs://b/a.png", "text": "x"}], {}, "exactly one of 'text', 'image'"),
        ([{"image": "gs://b/a.png", "caption": "x"}], {}, r"unknown key\(s\) \['caption'\]"),
        ([{"video": "gs://b/v.mp4", "start_offset_sec": 9, "end_offset_sec": 3}], {},
         "must be after"),
        ([{"video": "gs://b/v.mp4", "interval_sec": -1}], {}, "whole number of seconds"),
        ([{"image": "data:image/png;base64,@@@"}], {}, r"input\[0\]"),
        ([{"image": "gs:///nobucket.png"}], {}, "names no Cloud Storage bucket"),
        ([b"raw"], {}, "expected a string"),
    ],
)  # fmt: skip
def test_multimodal_problems_are_clear(items: list[Any], kw: dict[str, Any], match: str) -> None:
    with pytest.raises(errors.BadRequestError, match=match):
        body(MM, items, **kw)


def test_multimodal_refuses_text_only_params() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="input_type"):
        body(MM, ["a"], input_type="RETRIEVAL_QUERY")
    with pytest.raises(errors.UnsupportedParamsError, match="task_type"):
        body(MM, ["a"], provider_params={"task_type": "CLUSTERING"})
    with pytest.warns(DroppedParamWarning):
        checked = ve.check(req(MM, ["a"], input_type="RETRIEVAL_QUERY"), dialect="multimodal",
                           drop_params=True)  # fmt: skip
    assert ve.encode(checked, dialect="multimodal") == {"instances": [{"text": "a"}]}


# --------------------------------------------------------------------------- splitting


def test_batches_split_at_250_and_keep_order() -> None:
    texts = [f"t{i}" for i in range(600)]
    parts = ve.batches(req("text-embedding-005", texts), "text")
    assert [len(p.inputs) for p in parts] == [250, 250, 100]
    assert [x for p in parts for x in p.inputs] == texts


def test_batches_split_at_the_token_limit() -> None:
    long = "word " * 6000  # 30,000 bytes: about 10,000 estimated tokens
    parts = ve.batches(req("text-embedding-005", [long, long, "short", long]), "text")
    assert [len(p.inputs) for p in parts] == [1, 2, 1]
    huge = "x" * 100_000  # above the limit alone: sent alone, Google decides
    assert [len(p.inputs) for p in ve.batches(req("text-embedding-005", ["a", huge, "b"]),
                                              "text")] == [1, 1, 1]  # fmt: skip
    assert ve.estimate_tokens("héllo wörld") >= 4


@pytest.mark.parametrize("dialect", ["single", "multimodal"])
def test_one_per_request_dialects(dialect: str) -> None:
    parts = ve.batches(req("m", ["a", "b", "c"]), dialect)
    assert [p.inputs for p in parts] == [["a"], ["b"], ["c"]]


# --------------------------------------------------------------------------- decode


def test_decode_text_predictions_with_usage() -> None:
    got = ve.decode({
        "predictions": [
            {"embeddings": {"values": [0.1, 0.2], "statistics": {"token_count": 3,
                                                                 "truncated": False}}},
            {"embeddings": {"statistics": {"truncated": False, "token_count": 4},
                            "values": [0.3, 0.4]}},
        ],
        "metadata": {"billableCharacterCount": 12},
    })  # fmt: skip
    assert got.vectors == [[0.1, 0.2], [0.3, 0.4]]
    assert (got.usage.prompt_tokens, got.usage.total_tokens) == (7, 7)  # type: ignore[union-attr]


def test_decode_multimodal_predictions() -> None:
    got = ve.decode({
        "predictions": [
            {"textEmbedding": [1.0, 0.0]},
            {"imageEmbedding": [0.0, 1.0]},
            {"videoEmbeddings": [
                {"startOffsetSec": 0, "endOffsetSec": 16, "embedding": [1.0, 3.0]},
                {"startOffsetSec": 16, "endOffsetSec": 32, "embedding": [3.0, 5.0]},
            ]},
        ],
        "deployedModelId": "123",
    })  # fmt: skip
    assert got.vectors == [[1.0, 0.0], [0.0, 1.0], [2.0, 4.0]]  # a video: the segments' mean
    assert got.usage is None


def test_decode_errors() -> None:
    with pytest.raises(errors.RateLimitError):
        ve.decode(
            {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
        )
    with pytest.raises(errors.InternalServerError, match="without predictions"):
        ve.decode({"nothing": 1})
    with pytest.raises(errors.InternalServerError, match="without an embedding"):
        ve.decode({"predictions": [{"odd": []}]})
    with pytest.raises(errors.InternalServerError, match="not a list of numbers"):
        ve.decode({"predictions": [{"embeddings": {"values": {"a": 1}}}]})


# --------------------------------------------------------------------------- Gemini embedContent


def gbody(model: str, inputs: list[Any], dialect: str, **kw: Any) -> dict[str, Any]:
    return gem.encode(gem.check(req(model, inputs, **kw), dialect=dialect), dialect=dialect)


def test_gemini_models() -> None:
    assert gem.is_multimodal("gemini-embedding-2")
    assert gem.is_multimodal("gemini-embedding-2-preview")
    assert not gem.is_multimodal("gemini-embedding-001")
    assert not gem.is_multimodal("text-embedding-004")
    assert (gem.max_inputs("ai_studio"), gem.max_inputs("vertex")) == (100, 1)


def test_ai_studio_batch_body() -> None:
    got = gbody("gemini-embedding-001", ["First text", "Second text"], "ai_studio",
                input_type="RETRIEVAL_DOCUMENT", dimensions=768,
                provider_params={"title": "T"})  # fmt: skip
    assert got == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": text}]},
             "taskType": "RETRIEVAL_DOCUMENT", "title": "T", "outputDimensionality": 768}
            for text in ("First text", "Second text")
        ]
    }  # fmt: skip
    tuned = gbody("tunedModels/mine", ["x"], "ai_studio")
    assert tuned["requests"][0]["model"] == "tunedModels/mine"


@pytest.mark.parametrize(("task", "prefix"), [*gem.PREFIXES.items()])
def test_multimodal_gemini_takes_the_task_as_a_prefix(task: str, prefix: str) -> None:
    got = gbody("gemini-embedding-2", ["Hello, world!"], "vertex", input_type=task)
    assert got == {"content": {"parts": [{"text": prefix + "Hello, world!"}]}}


def test_document_prefix_carries_the_title() -> None:
    doc = gbody("gemini-embedding-2", ["body"], "vertex", input_type="RETRIEVAL_DOCUMENT",
                provider_params={"title": "Intro"})  # fmt: skip
    assert doc["content"]["parts"] == [{"text": "title: Intro | text: body"}]
    untitled = gbody("gemini-embedding-2", ["body"], "vertex", input_type="RETRIEVAL_DOCUMENT")
    assert untitled["content"]["parts"] == [{"text": "title: none | text: body"}]


def test_task_type_param_is_the_field_even_for_multimodal_gemini() -> None:
    got = gbody("gemini-embedding-2-preview", ["Hello, world!"], "ai_studio",
                provider_params={"task_type": "RETRIEVAL_QUERY"})  # fmt: skip
    assert got["requests"][0]["taskType"] == "RETRIEVAL_QUERY"
    with pytest.raises(errors.BadRequestError, match="not both"):
        gbody("gemini-embedding-2", ["x"], "vertex", input_type="RETRIEVAL_QUERY",
              provider_params={"task_type": "RETRIEVAL_QUERY"})  # fmt: skip


def test_vertex_embed_content_config() -> None:
    got = gbody("gemini-embedding-2", ["x"], "vertex", dimensions=8,
                provider_params={"auto_truncate": False})  # fmt: skip
    assert got == {"content": {"parts": [{"text": "x"}]},
                   "embedContentConfig": {"autoTruncate": False, "outputDimensionality": 8}}  # fmt: skip


def test_gemini_media_parts() -> None:
    b64 = base64.b64encode(PNG).decode()
    assert gbody("gemini-embedding-2", ["gs://b/a.png"], "vertex")["content"]["parts"] == [
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/a.png"}}
    ]
    assert gbody("gemini-embedding-2", [{"image": PNG}], "ai_studio")["requests"][0]["content"] == {
        "parts": [{"inlineData": {"mimeType": "image/png", "data": b64}}]
    }
    with pytest.raises(errors.BadRequestError, match="does not read Cloud Storage"):
        gbody("gemini-embedding-2", ["gs://b/a.png"], "ai_studio")
    with pytest.raises(errors.BadRequestError, match="add 'mime_type'"):
        gbody("gemini-embedding-2", [{"image": "gs://b/noext"}], "vertex")
    with pytest.raises(errors.BadRequestError, match="embeds text only"):
        gbody("gemini-embedding-001", ["x", {"image": PNG}], "ai_studio")


def test_ai_studio_refuses_auto_truncate() -> None:
    with pytest.raises(errors.UnsupportedParamsError, match="auto_truncate"):
        gbody("gemini-embedding-001", ["x"], "ai_studio", provider_params={"auto_truncate": True})


def test_gemini_decode() -> None:
    batch = gem.decode({"embeddings": [{"values": [1.0]}, {"values": [2.0]}],
                        "usageMetadata": {"promptTokenCount": 4}})  # fmt: skip
    assert batch.vectors == [[1.0], [2.0]]
    assert (batch.usage.prompt_tokens, batch.usage.total_tokens) == (4, 4)  # type: ignore[union-attr]
    one = gem.decode({"embedding": {"values": [3.0]},
                      "usageMetadata": {"promptTokenCount": 11, "totalTokenCount": 11}})  # fmt: skip
    assert one.vectors == [[3.0]] and one.usage is not None
    assert gem.decode({"embeddings": [{"values": [1.0]}]}).usage is None
    with pytest.raises(errors.NotFoundError, match="not found"):
        gem.decode(
            {"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}
        )
    with pytest.raises(errors.InternalServerError):
        gem.decode({"embeddings": [{"value": [1.0]}]})


# --------------------------------------------------------------------------- providers


def opts(**kw: Any) -> Any:
    return pop_options({"api_key": "tok", "vertex_project": "proj", **kw})


REGIONAL = "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1"


@pytest.mark.parametrize(
    ("model", "url", "api", "dialect"),
    [
        ("text-embedding-005", f"{REGIONAL}/publishers/google/models/text-embedding-005:predict",
         ve, "text"),
        ("google/text-embedding-005",
         f"{REGIONAL}/publishers/google/models/text-embedding-005:predict", ve, "text"),
        ("textembedding-gecko@003",
         f"{REGIONAL}/publishers/google/models/textembedding-gecko@003:predict", ve, "text"),
        ("gemini-embedding-001",
         f"{REGIONAL}/publishers/google/models/gemini-embedding-001:predict", ve, "single"),
        ("multimodalembedding@001",
         f"{REGIONAL}/publishers/google/models/multimodalembedding@001:predict", ve, "multimodal"),
        ("gemini-embedding-2",
         f"{REGIONAL}/publishers/google/models/gemini-embedding-2:embedContent", gem, "vertex"),
        ("1234567890", f"{REGIONAL}/endpoints/1234567890:predict", ve, "text"),
        ("endpoints/1234567890", f"{REGIONAL}/endpoints/1234567890:predict", ve, "text"),
    ],
)  # fmt: skip
def test_vertex_embedding_targets(model: str, url: str, api: Any, dialect: str) -> None:
    found = target(Route("vertex_ai", model), "embeddings", opts())
    assert found.endpoint.url == url
    assert found.api is api and found.dialect == dialect
    assert found.endpoint.headers["Authorization"] == "Bearer tok"


def test_vertex_embedding_target_honours_api_base_location_and_version() -> None:
    found = target(Route("vertex_ai", "text-embedding-005"), "embeddings",
                   opts(api_base="http://127.0.0.1:9/", vertex_location="global",
                        api_version="v1beta1"))  # fmt: skip
    assert found.endpoint.url == (
        "http://127.0.0.1:9/v1beta1/projects/proj/locations/global/publishers/google/models/"
        "text-embedding-005:predict"
    )
    with pytest.raises(errors.BadRequestError, match="expected a Google model name"):
        target(Route("vertex_ai", "meta/llama-embed"), "embeddings", opts())


def test_ai_studio_embedding_target(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    found = target(Route("gemini", "gemini-embedding-001"), "embeddings", opts(api_key="k"))
    assert found.endpoint.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:"
        "batchEmbedContents"
    )
    assert found.endpoint.headers == {"x-goog-api-key": "k"}
    assert found.api is gem and found.dialect == "ai_studio"
    with pytest.raises(errors.AuthenticationError, match="no Gemini API key"):
        target(Route("gemini", "gemini-embedding-001"), "embeddings", pop_options({}))
    with pytest.raises(errors.BadRequestError, match="not available"):
        target(Route("gemini", "imagen-3.0-generate-001"), "images", opts(api_key="k"))


def test_chat_models_are_refused_for_embeddings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.BadRequestError, match="not an embedding model"):
            target(Route("vertex_ai", "gemini-2.5-flash"), "embeddings", opts())
