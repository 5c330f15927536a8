"""A photo keeps its picture and nothing else: EXIF with the GPS position is gone, the orientation applied."""
import io

import pytest
from PIL import Image

from services.intake.photos import MAX_BYTES, clean
from shared.errors import InvalidInput

GPS = 0x8825


def jpeg_with_gps() -> bytes:
    picture = Image.new("RGB", (40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to stand upright
    exif.get_ifd(GPS).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, comment=b"at home, room 502")
    return out.getvalue()


def test_a_jpeg_loses_its_exif_and_gps_and_stands_upright():
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS)  # the phone wrote where it was
    cleaned, content_type = clean(data)
    assert content_type == "image/jpeg"
    picture = Image.open(io.BytesIO(cleaned))
    assert not picture.getexif() and "exif" not in picture.info and "comment" not in picture.info
    assert picture.size == (20, 40)  # the orientation was applied before it was dropped
    assert b"PhoneMaker" not in cleaned and b"room 502" not in cleaned


def test_a_png_loses_its_text_chunks():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Comment", "张三 13812345678")
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.new("RGBA", (8, 8), (0, 0, 255, 128)).save(out, "PNG", pnginfo=info, exif=exif)
    cleaned, content_type = clean(out.getvalue())
    assert content_type == "image/png"
    assert "13812345678".encode() not in cleaned and b"PhoneMaker" not in cleaned
    assert not Image.open(io.BytesIO(cleaned)).info.get("Comment")


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 20, b"\xff\xd8\xff" + b"\0" * 10, b"x" * (MAX_BYTES + 1)])
def test_anything_but_a_readable_jpeg_or_png_under_5_mb_is_refused_by_name(data):
    with pytest.raises(InvalidInput) as refused:
        clean(data)
    assert refused.value.field == "photo"


def test_a_gif_is_refused():
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    with pytest.raises(InvalidInput, match="JPEG or PNG"):
        clean(out.getvalue())
