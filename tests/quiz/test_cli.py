"""``flask quiz check``: a question file's questions as JSON, or its problems and exit 1."""

from __future__ import annotations

import json


def test_a_clean_gift_file_prints_its_questions_as_json(runner, tmp_path):
    path = tmp_path / "cau-hoi.gift"
    lines = [
        "\ufeff$CATEGORY: chuyen-doi-so",
        "",
        "::Q1:: Chính phủ số dựa trên? {=dữ liệu ~giấy tờ}",
    ]
    path.write_bytes("\r\n".join(lines).encode())  # BOM and CRLF, as Windows editors write
    result = runner.invoke(args=["quiz", "check", str(path)])
    assert result.exit_code == 0, result.output
    [question] = json.loads(result.output)
    assert question["type"] == "multichoice"
    assert question["name"] == "Q1"
    assert question["category"] == "chuyen-doi-so"
    assert [a["text"] for a in question["answers"]] == ["dữ liệu", "giấy tờ"]


def test_a_broken_file_lists_every_problem_and_exits_1(runner, tmp_path):
    path = tmp_path / "loi.gift"
    path.write_text(
        "::A:: Không có đáp án đúng {~một ~hai}\n\n::B:: Ghép {=a -> 1 =b -> }\n", "utf-8"
    )
    result = runner.invoke(args=["quiz", "check", str(path), "--format", "gift"])
    assert result.exit_code == 1
    assert "line 1 “A”" in result.output
    assert "line 3 “B”" in result.output


def test_aiken_is_recognised_by_name_and_checked(runner, tmp_path):
    path = tmp_path / "de-thi.aiken"
    path.write_text("Thủ đô?\nA. Hà Nội\nB. Huế\nANSWER: C\n", "utf-8")
    result = runner.invoke(args=["quiz", "check", str(path)])
    assert result.exit_code == 1
    assert "line" in result.output
