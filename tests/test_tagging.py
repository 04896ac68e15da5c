"""Part-of-speech tags (rag.answer.tagging)."""

from rag.answer.tagging import pos_tags


def test_tags_cover_the_text_in_order_and_are_remembered():
    text = "新建学校12所，改造老旧小区。"
    tags = pos_tags(text)
    assert "".join(w for w, _ in tags) == text
    assert any(flag.startswith("n") for w, flag in tags if w == "学校")
    assert pos_tags(text) is tags  # the same tuple: tagged once
