"""Small readings of the one-span strategies (rag.answer.typed), on hand-made names."""

import pytest

from rag.answer.typed import names_someone


@pytest.mark.parametrize(
    "name", ["王建国", "市住房和城乡建设局", "白沙产业技术研究院", "市卫生健康委员会"]
)
def test_a_person_or_a_body_answers_who(name):
    assert names_someone(name)


@pytest.mark.parametrize("name", ["全国文明城市", "省级园林城市", "新建学校", "学校"])
def test_a_title_won_does_not_answer_who(name):
    assert not names_someone(name)
