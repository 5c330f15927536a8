import pytest

from shared.masking import mask_name, mask_phone, mask_text, public_text


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


# --- names staff or residents type where a person is addressed (issue 11, item 6) -------------------------
@pytest.mark.parametrize("typed, name, masked", [
    ("完成后告知欧阳娜娜", "欧阳娜娜", "完成后告知欧***"),
    ("已更换灯泡,告知张三后回访", "张三", "已更换灯泡,告知张*后回访"),
    ("请居民张伟确认", "张伟", "请居民张*确认"),
    ("联系王建国先生处理", "王建国", "联系王**先生处理"),
    ("刘洋女士来电反映", "刘洋", "刘*女士来电反映"),
    ("反映人:赵六六", "赵六六", "反映人:赵**"),
    ("业主诸葛亮亮的车堵了通道", "诸葛亮亮", "业主诸***的车堵了通道"),
])
def test_a_name_where_the_text_addresses_a_person_is_masked(typed, name, masked):
    assert mask_text(typed) == masked and name not in public_text(typed)


@pytest.mark.parametrize("plain", ["联系物业", "告知方案", "通知全体居民", "告知居委会", "联系王先生", "王阿姨反映",
                                   "感谢陈师傅", "3号楼楼道灯坏了", "居民反映楼道灯坏了", "2026-11-24 10:00前核实"])
def test_words_that_are_not_names_and_a_family_name_with_a_title_stay(plain):
    assert public_text(plain) == plain


def test_public_text_is_mask_text_and_exact_addresses_hidden():
    assert public_text("告知张三,2单元502室 13812345678", names=["李四"]) == "告知张*,*单元***室 138****5678"
    assert public_text("李四家门口", names=["李四"]) == "李*家门口"  # a name the caller knows, wherever it is
    assert public_text(None) == ""
