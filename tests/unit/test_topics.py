"""Topic suggestion: the vocabulary file, the matching rules and accuracy on labelled petitions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain.directory import Directory
from bot.domain.topics import TopicClassifier, TopicVocabulary, TopicVocabularyError, telex_fold

DATA = Path(__file__).resolve().parent.parent / "data"
DIRECTORY = Directory.default()
# Floors measured when the vocabulary was written (README, "Topic suggestion"): they protect against a
# vocabulary edit that makes suggestions worse. topics_labelled.yaml was in view while the vocabulary
# was written; the held-out files estimate accuracy on unseen text.
FLOORS = {
    "topics_labelled.yaml": (0.95, 0.98),
    "topics_heldout.yaml": (0.85, 0.95),
    "topics_heldout2.yaml": (0.50, 0.85),
}


@pytest.fixture(scope="module")
def classifier() -> TopicClassifier:
    return TopicClassifier(TopicVocabulary.load(TopicVocabulary.beside(Directory.default_path()), DIRECTORY))


def accuracy(classifier: TopicClassifier, name: str) -> tuple[float, float, int]:
    petitions = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["petitions"]
    top1 = top3 = 0
    for item in petitions:
        suggested = classifier.suggest(item["text"])
        top1 += bool(suggested) and suggested[0] == item["topic"]
        top3 += item["topic"] in suggested[:3]
    return top1 / len(petitions), top3 / len(petitions), len(petitions)


def test_the_labelled_set_is_large_and_covers_every_topic() -> None:
    petitions = yaml.safe_load((DATA / "topics_labelled.yaml").read_text(encoding="utf-8"))["petitions"]
    assert len(petitions) >= 150
    keys = {c.key for c in DIRECTORY.categories}
    counts = {key: sum(1 for p in petitions if p["topic"] == key) for key in keys}
    assert all(n >= 10 for n in counts.values()), counts
    assert {p["topic"] for p in petitions} == keys


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_accuracy_stays_above_the_measured_floor(classifier: TopicClassifier, name: str) -> None:
    top1, top3, count = accuracy(classifier, name)
    floor1, floor3 = FLOORS[name]
    assert top1 >= floor1 and top3 >= floor3, f"{name} ({count}): top-1 {top1:.3f}, top-3 {top3:.3f}"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Đèn đường hỏng cả tuần nay", "infrastructure"),
        ("den duong hong ca tuan nay", "infrastructure"),  # no diacritics
        ("ĐÈN ĐƯỜNG HỎNG", "infrastructure"),  # capitals
        ("dden dduwowngf hongr", "infrastructure"),  # raw Telex
        ("ko co nc sach de dung", "utilities"),  # chat abbreviations
        ("Nhà bị sổ đỏ sai diện tích", "land"),
        ("Thủy lợi: kênh mương bị bồi lấp", "agriculture"),
    ],
)
def test_first_suggestion(classifier: TopicClassifier, text: str, topic: str) -> None:
    assert classifier.suggest(text)[0] == topic


def test_one_letter_typos_count_less(classifier: TopicClassifier) -> None:
    assert classifier.scores("mặt đường bị lún") == {"infrastructure": 3.0}
    assert classifier.scores("mặt đườg bị lún") == {"infrastructure": pytest.approx(2.1)}  # a letter missing
    assert classifier.scores("mat duoung bi lun") == {"infrastructure": pytest.approx(2.1)}  # one too many
    assert classifier.scores("duongg") == {}  # a word alone is not guessed: too many neighbours


def test_diacritics_that_differ_make_another_word(classifier: TopicClassifier) -> None:
    # "bão" (storm) is a disaster word; "bao nhiêu" (how much) typed with diacritics is not.
    assert "disaster" in classifier.scores("Khắc phục hậu quả cơn bão số 3")
    assert "disaster" not in classifier.scores("Xin hỏi lệ phí chứng thực là bao nhiêu tiền")
    # Without diacritics the letters are all there is: both readings count.
    assert "disaster" in classifier.scores("con bao so 3")


def test_a_phrase_inside_a_longer_one_does_not_count_again(classifier: TopicClassifier) -> None:
    scores = classifier.scores("dây điện võng thấp")
    assert scores == {"utilities": 3.0}  # "dây điện", not also "điện"


def test_three_suggestions_in_order_completed_by_other(classifier: TopicClassifier) -> None:
    assert classifier.suggest("") == ["other"]
    assert classifier.suggest("!!! ???") == ["other"]
    only = classifier.suggest("ổ gà")
    assert only == ["infrastructure", "other"]
    many = classifier.suggest("Dự án thu hồi đất làm đường, đền bù thấp, sổ đỏ chưa trả, trường học bị dời")
    assert len(many) == 3 and many[0] == "compensation"


def test_suggest_never_raises_on_odd_input(classifier: TopicClassifier) -> None:
    for text in ("\u200b\u200b", "🚧🚧🚧", "x" * 5000, "ddddddddd", "ssss ffff", "\x00", "đ" * 50):
        suggested = classifier.suggest(text)
        assert 1 <= len(suggested) <= 3


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("dduwowngf", "duong"),
        ("ddaats", "dat"),
        ("nuwowcs", "nuoc"),
        ("ngaapj", "ngap"),
        ("sujt", "sut"),
        ("cuwsu", "cuu"),
        ("trow", "tro"),  # the r of "tr" is not a tone key
        ("duong", "duong"),
    ],
)
def test_telex_fold(typed: str, folded: str) -> None:
    assert telex_fold(typed) == folded


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list", r"topics\.yaml: the file must be a YAML mapping"),
        ("format_version: 2\ntopics: {land: {words: [đất]}}\n", r"topics\.yaml line 1: format_version:"),
        (
            "format_version: 1\ntopics:\n  land:\n    words: [đất]\n  weather:\n    words: [mưa]\n",
            r"topics\.yaml line 5: topics\.weather: 'weather' is not a category of the province",
        ),
        (
            "format_version: 1\ntopics:\n  land:\n    strong:\n      - Sổ đỏ\n    words:\n      - so do\n",
            r"line 7: topics\.land\.words\[0\]: 'so do' is listed twice for land \(also 'Sổ đỏ'\)",
        ),
        (
            "format_version: 1\ntopics:\n  land:\n    words:\n      - '!!'\n",
            r"line 5: topics\.land\.words\[0\]: an entry needs at least one letter",
        ),
        (
            "format_version: 1\ntopics:\n  land:\n    word: [đất]\n",
            r"line 4: topics\.land\.word: Extra inputs are not permitted",
        ),
        (
            "format_version: 1\nabbreviations:\n  'u b': ủy ban\ntopics:\n  land:\n    words: [đất]\n",
            r"line 3: abbreviations\.u b: 'u b' must be one word",
        ),
        (
            "format_version: 1\ntopics:\n  land:\n    words: [đất]\n  land:\n    words: [đất]\n",
            r"topics\.yaml line 5: topics\.land: given twice",
        ),
        ("format_version: 1\ntopics: [\n", r"topics\.yaml line \d+: invalid YAML"),
    ],
)
def test_invalid_files_name_the_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TopicVocabularyError, match=message):
        TopicVocabulary.load(write(tmp_path, text), DIRECTORY)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TopicVocabularyError, match=r"nothing\.yaml: file not found"):
        TopicVocabulary.load(tmp_path / "nothing.yaml", DIRECTORY)


def test_a_province_edits_its_vocabulary(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "format_version: 1\nabbreviations:\n  hq: hợp tác xã\ntopics:\n  agriculture:\n"
        "    strong: [hợp tác xã]\n  other:\n    words: [chợ quê]\n",
    )
    classifier = TopicClassifier(TopicVocabulary.load(path, DIRECTORY))
    assert classifier.suggest("hq chưa trả tiền") == ["agriculture", "other"]
    assert classifier.suggest("Chợ quê họp muộn") == ["other"]
