"""Title cards, checked on their pixels.

No golden images: font rasterisers differ between FreeType and Pillow builds, so every check is a
property an audience would notice (size, colours, where the ink is, how big the letters are)
measured on the rendered card. The safe area is recomputed here from its definition (the central
80%), not taken from castkit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from castkit.titles import cards as _titles
from castkit.recipe.style import TitleStyle
from castkit.titles.cards import check_style, layout_card, render_card
from castkit.base.colors import parse_color
from castkit.errors import InputError, UsageError

# The display sizes castkit draws cards at: PAL 4:3, PAL 16:9, NTSC 4:3, NTSC 16:9.
SIZES = [(768, 576), (1024, 576), (640, 480), (853, 480)]
PAL = (768, 576)
NAVY = (0x1B, 0x28, 0x38)  # the default background
LONG_TITLE = (
    "Installing and configuring the Parallel Debugger license server on a cluster of Linux "
    "workstations, with notes on firewalls, FlexLM ports, hostids and the dreaded lmgrd debug logs."
)
ACCENTS = "Ünïcödé — ñandú"

assert len(LONG_TITLE) == 180


# --- helpers --------------------------------------------------------------------------------


def ink_box(card: Image.Image, background: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """Bounding box (right/bottom exclusive) of every pixel that differs from the background."""
    plain = Image.new("RGB", card.size, background)
    box = ImageChops.difference(card, plain).getbbox()
    assert box is not None, "the card has no text at all"
    return box


def assert_inside_safe_area(card: Image.Image, background: tuple[int, int, int]) -> None:
    width, height = card.size
    left, top, right, bottom = ink_box(card, background)
    assert left >= 0.1 * width, f"ink at x={left}, left of the safe area ({0.1 * width})"
    assert right <= 0.9 * width, f"ink up to x={right}, right of the safe area ({0.9 * width})"
    assert top >= 0.1 * height, f"ink at y={top}, above the safe area ({0.1 * height})"
    assert bottom <= 0.9 * height, f"ink down to y={bottom}, below the safe area"


def ink_rows(card: Image.Image, background: tuple[int, int, int]) -> list[tuple[int, int]]:
    """Runs of rows holding ink, top to bottom, as (first, last + 1): one per line of text
    when lines have no descenders or accents to bridge the gaps."""
    plain = Image.new("RGB", card.size, background)
    diff = ImageChops.difference(card, plain).convert("L")
    width, height = card.size
    runs: list[tuple[int, int]] = []
    start = None
    for y in range(height):
        has_ink = diff.crop((0, y, width, y + 1)).getbbox() is not None
        if has_ink and start is None:
            start = y
        elif not has_ink and start is not None:
            runs.append((start, y))
            start = None
    if start is not None:
        runs.append((start, height))
    return runs


def count_colour(card: Image.Image, colour: tuple[int, int, int]) -> int:
    return sum(n for n, c in card.getcolors(card.width * card.height) if c == colour)


# --- size, colours, safe area ---------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_card_is_rgb_and_exactly_the_size_asked(size: tuple[int, int]) -> None:
    card = render_card("Installing the Parallel Debugger", "Part 1", TitleStyle(), size)
    assert card.mode == "RGB"
    assert card.size == size


@pytest.mark.parametrize(
    "background, expected",
    [("#1b2838", NAVY), ("navy", (0, 0, 128)), ("#abc", (0xAA, 0xBB, 0xCC)), ("White", (255,) * 3)],
)
def test_background_colour_fills_the_corners(
    background: str, expected: tuple[int, int, int]
) -> None:
    card = render_card("Hello", "world", TitleStyle(background=background, color="#ff8800"), PAL)
    w, h = card.size
    for corner in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, 2), (2, h // 2)]:
        assert card.getpixel(corner) == expected


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "title, subtitle",
    [
        ("Welcome", None),
        ("Installing the Parallel Debugger", "Part 1: the license server"),
        (LONG_TITLE, None),
        (LONG_TITLE, "Part 2 of 12, recorded in the lab on a very slow Tuesday afternoon"),
        (ACCENTS, "Straße, façade, Ærøskøbing, jalapeño, Ÿ, Ç, g, j, q, p, y"),
        ("https://example.com/a/really/long/path/that/fits/nowhere/on/one/line", None),
    ],
)
def test_all_text_stays_inside_the_title_safe_area(
    size: tuple[int, int], title: str, subtitle: str | None
) -> None:
    card = render_card(title, subtitle, TitleStyle(), size)
    assert_inside_safe_area(card, NAVY)


def test_text_is_drawn_in_the_text_colour() -> None:
    style = TitleStyle(background="black", color="#ffcc00")
    card = render_card("Breakpoints", None, style, PAL)
    # The insides of bold letters are fully covered: exactly the text colour, hundreds of pixels.
    assert count_colour(card, (255, 0xCC, 0)) > 500
    dark = render_card("Breakpoints", None, TitleStyle(background="white", color="#102030"), PAL)
    assert count_colour(dark, (0x10, 0x20, 0x30)) > 500
    assert_inside_safe_area(dark, (255, 255, 255))


# --- sizes and wrapping ---------------------------------------------------------------------


def test_a_180_character_title_wraps_onto_several_lines_inside_the_safe_area() -> None:
    one_line = render_card("Debugger", None, TitleStyle(), PAL)
    long = render_card(LONG_TITLE, None, TitleStyle(), PAL)
    _, top1, _, bottom1 = ink_box(one_line, NAVY)
    _, top, _, bottom = ink_box(long, NAVY)
    assert bottom - top > 3 * (bottom1 - top1)
    assert_inside_safe_area(long, NAVY)
    layout = layout_card(LONG_TITLE, None, TitleStyle(), PAL)
    assert len(layout.title_lines) >= 4
    # Every word is there, in order, none broken: wrapping only chose where lines end.
    assert " ".join(layout.title_lines).split() == LONG_TITLE.split()


def test_short_titles_get_bigger_letters_than_long_ones() -> None:
    # Capital H only: every line of ink is exactly one cap height tall, whatever the rasteriser.
    short = render_card("HHH", None, TitleStyle(), PAL)
    long = render_card(" ".join(["HHHH"] * 30), None, TitleStyle(), PAL)
    short_rows = ink_rows(short, NAVY)
    long_rows = ink_rows(long, NAVY)
    assert len(short_rows) == 1
    assert len(long_rows) >= 3
    short_cap = short_rows[0][1] - short_rows[0][0]
    long_cap = long_rows[0][1] - long_rows[0][0]
    assert short_cap > 1.3 * long_cap
    assert (
        layout_card("HHH", None, TitleStyle(), PAL).title_size
        > layout_card(" ".join(["HHHH"] * 30), None, TitleStyle(), PAL).title_size
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("title, subtitle", [("Welcome", None), (ACCENTS, "jalapeño, gypsy")])
def test_the_layout_knows_where_the_ink_lands(
    size: tuple[int, int], title: str, subtitle: str | None
) -> None:
    # The layout fits text by measured ink; if its measure missed accents or descenders,
    # the drawn letters would spill past it (and, at the limit, past the safe area).
    left, top, right, bottom = ink_box(render_card(title, subtitle, TitleStyle(), size), NAVY)
    p_left, p_top, p_right, p_bottom = layout_card(title, subtitle, TitleStyle(), size).ink_box
    assert p_left <= left and right <= p_right
    assert p_top <= top and bottom <= p_bottom
    assert top - p_top <= 2 and p_bottom - bottom <= 2


def test_a_short_title_is_big_enough_to_read_across_a_room() -> None:
    rows = ink_rows(render_card("HHH", None, TitleStyle(), PAL), NAVY)
    assert rows[0][1] - rows[0][0] >= 0.06 * PAL[1]  # cap height >= 6% of the picture


@pytest.mark.parametrize(
    "title",
    [
        "Installing the Parallel Debugger",
        "A quick tour of the UI",  # greedy filling would leave "the UI" alone
        "What is new in 7.2",
        "Using the GUI on a Mac",
        "Thanks for watching this video",
    ],
)
def test_two_line_titles_are_balanced_not_a_full_line_and_an_orphan(title: str) -> None:
    layout = layout_card(title, None, TitleStyle(), PAL)
    assert len(layout.title_lines) == 2
    font = ImageFont.truetype(str(_titles.TITLE_FONT), layout.title_size)
    words = title.split()
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    widest = {split: max(font.getlength(line) for line in split) for split in splits}
    # Of all ways to set the title in two lines, the one whose longer line is shortest (give or
    # take a pixel or two: castkit measures ink, getlength measures advances).
    assert widest[layout.title_lines] <= min(widest.values()) * 1.02


def test_an_explicit_newline_in_a_title_starts_a_new_line() -> None:
    layout = layout_card("Part one\nSetup", None, TitleStyle(), PAL)
    assert layout.title_lines == ("Part one", "Setup")


def test_a_word_too_long_for_a_line_is_broken_rather_than_overflowing() -> None:
    url = "https://example.com/" + "x" * 120
    layout = layout_card(url, None, TitleStyle(), PAL)
    assert len(layout.title_lines) >= 2
    assert "".join(layout.title_lines) == url
    assert_inside_safe_area(render_card(url, None, TitleStyle(), PAL), NAVY)


def test_text_too_long_to_read_on_one_card_is_refused() -> None:
    with pytest.raises(UsageError, match="too long"):
        render_card("word " * 1000, None, TitleStyle(), PAL)


@pytest.mark.parametrize("title", ["", "   ", " \n\t "])
def test_an_empty_title_is_refused(title: str) -> None:
    with pytest.raises(UsageError, match="a title needs some text"):
        render_card(title, "subtitle", TitleStyle(), PAL)


# --- subtitle -------------------------------------------------------------------------------


def test_the_subtitle_is_smaller_and_below_the_title() -> None:
    card = render_card("TITLE", "HHHHH", TitleStyle(), PAL)
    rows = ink_rows(card, NAVY)
    assert len(rows) == 2, rows
    (title_top, title_bottom), (sub_top, sub_bottom) = rows
    assert sub_top > title_bottom
    assert sub_bottom - sub_top < 0.8 * (title_bottom - title_top)
    layout = layout_card("TITLE", "HHHHH", TitleStyle(), PAL)
    assert layout.subtitle_size is not None and layout.subtitle_size < layout.title_size
    assert layout.subtitle_lines == ("HHHHH",)


def test_no_subtitle_means_a_single_block_of_text() -> None:
    assert len(ink_rows(render_card("TITLE", None, TitleStyle(), PAL), NAVY)) == 1
    assert len(ink_rows(render_card("TITLE", "  ", TitleStyle(), PAL), NAVY)) == 1


def test_a_long_subtitle_wraps_too() -> None:
    subtitle = "a subtitle that goes on and on about the licence server and its many ports " * 2
    layout = layout_card("Title", subtitle, TitleStyle(), PAL)
    assert len(layout.subtitle_lines) >= 2
    assert_inside_safe_area(render_card("Title", subtitle, TitleStyle(), PAL), NAVY)


# --- accents and fonts ----------------------------------------------------------------------


def test_the_bundled_fonts_ship_with_the_package_and_their_licence() -> None:
    fonts = Path(_titles.__file__).parent / "fonts"
    assert (fonts / "DejaVuSans-Bold.ttf").is_file()
    assert (fonts / "DejaVuSans.ttf").is_file()
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text()
    check_style(TitleStyle())  # the default style needs nothing from the machine


@pytest.mark.parametrize("font", [_titles.TITLE_FONT, _titles.SUBTITLE_FONT])
def test_the_bundled_fonts_have_every_accented_glyph(font: Path) -> None:
    face = ImageFont.truetype(str(font), 40)

    def glyph(char: str) -> tuple[tuple[int, int, int, int], bytes]:
        mask = face.getmask(char)
        return face.getbbox(char), bytes(mask)

    # Two code points DejaVu has no glyph for draw the same .notdef box.
    notdef = glyph("\U000f0000")
    assert glyph("\U000f0001") == notdef
    for char in set(ACCENTS + "ßçÆøÇŸ") - {" "}:
        assert glyph(char) != notdef, f"{char!r} would show as a box"


def test_accents_are_drawn_not_clipped() -> None:
    accented = render_card(ACCENTS, None, TitleStyle(), PAL)
    plain = render_card("Unicode — nandu", None, TitleStyle(), PAL)
    assert layout_card(ACCENTS, None, TitleStyle(), PAL).title_lines == (ACCENTS,)
    _, top_a, _, bottom_a = ink_box(accented, NAVY)
    _, top_p, _, bottom_p = ink_box(plain, NAVY)
    # The diaeresis over the capital U rises above the plain capitals.
    assert bottom_a - top_a > bottom_p - top_p
    assert_inside_safe_area(accented, NAVY)


def test_decomposed_accents_are_composed_before_drawing() -> None:
    decomposed = "U\u0308ni\u0308co\u0308de\u0301"  # "Ünïcödé" typed with combining marks
    assert layout_card(decomposed, None, TitleStyle(), PAL).title_lines == ("Ünïcödé",)


def test_a_16_bit_grey_background_keeps_its_grey(tmp_path: Path) -> None:
    """Seen failing before the fix (a fault campaign): a 16-bit greyscale PNG (Pillow's
    ``I;16``) as a card's background came out white: every level above 255 was clipped."""
    grey = tmp_path / "grey16.png"
    Image.new("I;16", (64, 48), 0x8080).save(grey)
    with Image.open(grey) as image:
        assert image.mode.startswith("I")  # the case: Pillow reads it as 16-bit levels
    card = render_card("Hi", None, TitleStyle(background=str(grey)), (320, 240), tmp_path)
    assert card.convert("RGB").getpixel((4, 4)) == (128, 128, 128)


def test_a_font_file_chosen_by_the_author_is_used(tmp_path: Path) -> None:
    shutil.copy(_titles.SUBTITLE_FONT, tmp_path / "regular.ttf")
    mine = TitleStyle(font=Path("regular.ttf"))  # relative: resolved against base
    custom = render_card("Breakpoints", None, mine, PAL, base=tmp_path)
    default = render_card("Breakpoints", None, TitleStyle(), PAL)
    assert custom.tobytes() != default.tobytes()
    # Regular letters are thinner than the default bold: fewer fully-inked pixels.
    assert count_colour(custom, (255, 255, 255)) < count_colour(default, (255, 255, 255))
    assert_inside_safe_area(custom, NAVY)


# --- background images ----------------------------------------------------------------------


def stripes(path: Path, colours: list[tuple[int, int, int]], vertical: bool) -> Path:
    """Four bands of 100 px, side by side (vertical) or stacked: a 4:1 or 1:4 image."""
    size = (100 * len(colours), 100) if vertical else (100, 100 * len(colours))
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(colours):
        band = (i * 100, 0, i * 100 + 99, 99) if vertical else (0, i * 100, 99, i * 100 + 99)
        draw.rectangle(band, fill=colour)
    image.save(path)
    return path


RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


@pytest.mark.parametrize("size", [PAL, (853, 480)])
def test_a_wide_background_image_covers_the_card_cropped_not_squeezed(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    # A 4:1 image on a 4:3 or 16:9 card: scaled to the card's height, the middle kept. Only the
    # green and blue bands show, meeting in the middle; red and yellow are cropped away.
    stripes(tmp_path / "wide.png", [RED, GREEN, BLUE, YELLOW], vertical=True)
    card = render_card("Hi", None, TitleStyle(background="wide.png"), size, base=tmp_path)
    w, h = card.size
    assert card.size == size
    for x, y in [(0, 0), (0, h - 1), (w // 4, 3)]:
        assert close(card.getpixel((x, y)), GREEN), (x, y)
    for x, y in [(w - 1, 0), (w - 1, h - 1), (3 * w // 4, h - 3)]:
        assert close(card.getpixel((x, y)), BLUE), (x, y)
    colours = {c for _, c in card.getcolors(w * h)}
    assert not any(close(c, RED, 40) or close(c, YELLOW, 40) for c in colours)
    # The band edge sits in the centre (+-2 px of resampling blur): the crop is centred.
    row = [card.getpixel((x, h - 2)) for x in range(w)]
    edge = next(x for x, c in enumerate(row) if c[2] > c[1])
    assert abs(edge - w / 2) <= 2


def test_a_tall_background_image_is_cropped_top_and_bottom(tmp_path: Path) -> None:
    stripes(tmp_path / "tall.png", [RED, GREEN, BLUE, YELLOW], vertical=False)
    card = render_card("Hi", None, TitleStyle(background=str(tmp_path / "tall.png")), PAL)
    w, h = card.size
    assert close(card.getpixel((0, 0)), GREEN) and close(card.getpixel((w - 1, 0)), GREEN)
    assert close(card.getpixel((0, h - 1)), BLUE) and close(card.getpixel((w - 1, h - 1)), BLUE)


def test_text_over_an_image_is_set_off_by_a_soft_shade(tmp_path: Path) -> None:
    # White text on a white photo would vanish: castkit shades behind it.
    Image.new("RGB", (1600, 1200), "white").save(tmp_path / "white.jpg", quality=95)
    style = TitleStyle(background="white.jpg")
    card = render_card("Readable", "on white", style, PAL, base=tmp_path)
    w, h = card.size
    assert close(card.getpixel((0, 0)), (255, 255, 255), 3)  # corners untouched
    assert count_colour(card, (255, 255, 255)) > 500  # the letters themselves
    darkest = min(sum(c) for _, c in card.getcolors(w * h))
    assert darkest < 3 * 160  # a real shade behind the letters, not a faint one
    # The shade spreads around the words (beside them, left of the first letter), not only
    # under the strokes like a shadow would.
    left, top, right, bottom = layout_card("Readable", "on white", TitleStyle(), PAL).ink_box
    assert sum(card.getpixel((left - 12, (top + bottom) // 2))) < 3 * 230


def test_a_background_image_with_transparency_is_accepted(tmp_path: Path) -> None:
    Image.new("RGBA", (64, 48), (255, 0, 0, 128)).save(tmp_path / "logo.png")
    card = render_card("Hi", None, TitleStyle(background="logo.png"), PAL, base=tmp_path)
    assert card.mode == "RGB" and card.size == PAL


# --- determinism ----------------------------------------------------------------------------


def test_the_same_card_is_drawn_the_same_way_twice(tmp_path: Path) -> None:
    stripes(tmp_path / "bg.png", [RED, GREEN, BLUE, YELLOW], vertical=True)
    for style in (TitleStyle(), TitleStyle(background="bg.png")):
        first = render_card(LONG_TITLE, "Part 1", style, PAL, base=tmp_path)
        second = render_card(LONG_TITLE, "Part 1", style, PAL, base=tmp_path)
        assert first.tobytes() == second.tobytes()


# --- colours and style checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, rgb",
    [("navy", (0, 0, 128)), (" Navy ", (0, 0, 128)), ("#1b2838", NAVY), ("#fff", (255, 255, 255))],
)
def test_parse_color_reads_css_names_and_hex(text: str, rgb: tuple[int, int, int]) -> None:
    assert parse_color(text) == rgb


@pytest.mark.parametrize("text", ["navvy", "#12345", "#gggggg", "", "rgb(1,2)"])
def test_parse_color_names_a_bad_colour_and_says_what_works(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_color(text)
    assert str(caught.value) == (
        f"unknown colour {text!r}: use a CSS name like 'navy' or #rrggbb"
    )


def test_an_unknown_text_colour_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'bleu'") as caught:
        check_style(TitleStyle(color="bleu"))
    assert not isinstance(caught.value, InputError)


def test_an_unknown_background_colour_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'navvy'") as caught:
        check_style(TitleStyle(background="navvy"))
    assert not isinstance(caught.value, InputError)


def test_a_missing_font_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.ttf") as caught:
        check_style(TitleStyle(font=tmp_path / "nope.ttf"))
    assert caught.value.path == tmp_path / "nope.ttf"
    assert caught.value.exit_status == 2


def test_a_relative_font_path_is_resolved_against_base(tmp_path: Path) -> None:
    (tmp_path / "fonts").mkdir()
    shutil.copy(_titles.TITLE_FONT, tmp_path / "fonts" / "Mine.ttf")
    check_style(TitleStyle(font=Path("fonts/Mine.ttf")), base=tmp_path)
    with pytest.raises(InputError, match="Mine.ttf"):
        check_style(TitleStyle(font=Path("fonts/Mine.ttf")), base=tmp_path / "elsewhere")


@pytest.mark.parametrize(
    "content", [b"this is not a font\n", b"", b"\x00\x01\x00\x00" + b"\0" * 50]  # last: a bad TTF
)
def test_a_file_that_is_not_a_font_is_an_input_error_naming_it(
    tmp_path: Path, content: bytes
) -> None:
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(content)
    with pytest.raises(InputError, match="fake.ttf.*font"):
        check_style(TitleStyle(font=fake))


def test_a_missing_background_image_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.png"):
        check_style(TitleStyle(background="missing.png"), base=tmp_path)


def test_a_background_that_is_not_an_image_is_an_input_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(InputError, match="notes.png"):
        check_style(TitleStyle(background="notes.png"), base=tmp_path)


def test_a_truncated_background_image_is_an_input_error_naming_it(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    Image.effect_noise((640, 480), 60).convert("RGB").save(good, quality=90)
    data = good.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    check_style(TitleStyle(background="good.jpg"), base=tmp_path)
    with pytest.raises(InputError, match="cut.jpg"):
        check_style(TitleStyle(background="cut.jpg"), base=tmp_path)


def test_render_card_checks_the_style_before_drawing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="gone.ttf"):
        render_card("Title", None, TitleStyle(font=tmp_path / "gone.ttf"), PAL)
    with pytest.raises(InputError, match="gone.png"):
        render_card("Title", None, TitleStyle(background=str(tmp_path / "gone.png")), PAL)
    with pytest.raises(UsageError, match="'bleu'"):
        render_card("Title", None, TitleStyle(color="bleu"), PAL)
