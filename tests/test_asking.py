"""The part of a question that asks (rag.answer.asking), on hand-made questions."""

from rag.answer.asking import asking_part, asks_of, drop_frame_modifiers


def test_the_part_that_asks_in_a_long_question():
    q = "我家住在老城区，楼房很旧了，邻居们都盼着改造。政府这几年打算改造多少个老旧小区？谢谢。"
    assert asking_part(q) == "政府这几年打算改造多少个老旧小区？"
    q2 = "我是做茶叶的，价格上不去，想问问茶叶有没有规划，放在哪个基地？"
    assert asking_part(q2).startswith("想问问茶叶")
    # a closing request that names nothing frames the question before it
    assert asking_part("今年的主要目标有哪些？大概说说。") == "今年的主要目标有哪些？"


def test_the_questions_of_a_question():
    assert asks_of("什么时候开工的？投了多少钱？") == ("什么时候开工的？", "投了多少钱？")
    assert asks_of("改了多少个小区，装了多少部电梯？") == ("改了多少个小区", "装了多少部电梯？")
    assert asks_of("孩子明年上学，能多出多少学位？") == ()  # the first clause asks nothing


def test_the_frames_modifiers():
    assert drop_frame_modifiers("有哪些主要打算") == "有哪些打算"
    assert drop_frame_modifiers("主要目标里有哪些数字") == "主要目标里有哪些数字"
