import pytest

from shared.masking import mask_name, mask_phone, mask_text


def test_phone_keeps_only_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_name_keeps_only_the_family_name():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


@pytest.mark.parametrize("typed", ["138-1234-5678", "138 1234 5678", "+8613812345678", "+86 138 1234 5678",
                                   "138.1234.5678", "１３８１２３４５６７８"])
def test_phone_numbers_however_spaced_are_masked(typed):
    masked = mask_text(f"电话{typed}找我")
    assert "1234" not in masked and "5678" in masked and "****" in masked


def test_phone_numbers_typed_into_free_text_are_masked():
    assert mask_text("请联系13812345678或010-62345678") == "请联系138****5678或010-****5678"
    assert mask_text("3号楼502室") == "3号楼502室"
