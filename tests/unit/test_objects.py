"""``objects.build`` must build exactly what pydantic's ``model_construct`` builds."""

from __future__ import annotations

import inspect

import pytest

from polymodal import objects as o

CLASSES = [
    c
    for _, c in inspect.getmembers(o, inspect.isclass)
    if issubclass(c, o.OpenAIObject) and c is not o.OpenAIObject
]
SAMPLES: dict[str, dict[str, object]] = {
    "Function": {"name": "f", "arguments": "{}"},
    "ChatCompletionMessageToolCall": {"id": "c1", "function": o.Function(name="f")},
    "ChatCompletionMessage": {"content": "hi"},
    "Choices": {"message": o.ChatCompletionMessage(content="x"), "finish_reason": "stop"},
    "ChatCompletion": {"id": "x", "model": "m", "choices": []},
    "ChoiceDeltaToolCall": {"index": 0, "id": "c"},
    "StreamingChoices": {"delta": o.Delta(content="a")},
    "ChatCompletionChunk": {"id": "x", "model": "m", "choices": []},
}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_build_equals_model_construct(cls: type[o.OpenAIObject]) -> None:
    values = SAMPLES.get(cls.__name__, {})
    ours = o.build(cls, **values)
    theirs = cls.model_construct(**values)
    assert type(ours) is type(theirs)
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.__pydantic_extra__ == theirs.__pydantic_extra__
    assert ours.__pydantic_private__ == theirs.__pydantic_private__
    assert ours == theirs


def test_dict_style_access() -> None:
    msg = o.build(o.ChatCompletionMessage, content="hello")
    assert msg["content"] == "hello" and msg.get("refusal") is None and "content" in msg
    with pytest.raises(KeyError):
        msg["nope"]
