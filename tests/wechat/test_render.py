"""WeChat renderer: the HTML a phone shows, what cannot get through, WeChat's limits.

Pure functions: no app, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from wechat.render import STYLES, ContentLimitError, check_limits, render_article

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "statement.html"
MEDIA = "/media/" + "3f1c0b5e8a9d4c7b2e6f1a0d9c8b7a6e5f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b" + ".png"
OTHER_MEDIA = "/media/" + "b" * 64 + ".jpg"


def fake_upload(src: str) -> str:
    """What `media/uploadimg` answers, made up from the file's hash."""
    return f"https://mmbiz.qpic.cn/mmbiz_png/{src[7:19]}/0?wx_fmt=png"


class _Tree(HTMLParser):
    """Every element of the output as (tag, attrs), and its text content."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


# --- golden ------------------------------------------------------------------

STATEMENT = f"""\
# 河南省农业科学院关于网传“种子质量问题”的情况说明

近日，有网民在社交平台发布信息，称我院某试验基地向农户销售的小麦种子存在质量问题。\
我院高度重视，第一时间成立工作专班，对有关情况进行**核查**。现将有关情况说明如下：

## 一、基本情况

经查，网传视频中的种子系2023年秋播期间由*院属企业*统一调拨的“郑麦”系列品种，\
批次信息完整、检验报告齐全。详见[院属企业公告](https://mp.weixin.qq.com/s/AbCdEf123)。

> 依据《中华人民共和国种子法》第四十一条，销售的种子应当符合国家或者行业标准。

## 二、核查过程

1. 调取该批次种子的检验报告和留样；
2. 委托第三方检测机构复检：
    - 发芽率；
    - 净度与水分。
3. 走访购种农户，了解播种和出苗情况。

复检结果如下：

| 检测项目 | 国家标准 | 复检结果 |
|:--|:--:|--:|
| 发芽率 | ≥85% | 92% |
| 净度 | ≥99% | 99.2% |
| 水分 | ≤13% | 11.8% |

检测依据见[国家标准全文公开系统](https://openstd.samr.gov.cn/bzgk/gb/index)，\
另可参阅[种子法释义](https://www.moa.gov.cn/gk/zcfg/)。

![复检报告首页]({MEDIA})

## 三、下一步工作

- 继续跟踪出苗情况，组织专家开展田间技术指导；
- 畅通投诉渠道，逐一回应群众关切（标准文本：\
[国家标准全文公开系统](https://openstd.samr.gov.cn/bzgk/gb/index)）；
- 严格落实“专人采编、领导审核把关”制度，做到信息优先发布。

感谢社会各界的关心和监督。如有疑问，请致电0371-12345678或发送邮件至<xxb@hnagri.org.cn>。

河南省农业科学院办公室
2024年3月15日
"""


def test_statement_matches_golden() -> None:
    # After a deliberate change of theme, regenerate, then read the diff before committing:
    #   .venv/bin/python -c "from tests.wechat.test_render import GOLDEN, STATEMENT, fake_upload, render_article;
    #   GOLDEN.write_text(render_article(STATEMENT, image_url=fake_upload).html, encoding='utf-8')"
    article = render_article(STATEMENT, image_url=fake_upload)
    assert article.html == GOLDEN.read_text(encoding="utf-8")
    assert article.references == [
        "https://openstd.samr.gov.cn/bzgk/gb/index",
        "https://www.moa.gov.cn/gk/zcfg/",
        "mailto:xxb@hnagri.org.cn",
    ]
    assert article.images == [MEDIA]


# --- what cannot get through -------------------------------------------------


def _load_vectors() -> list[str]:
    escapes = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\0": "\0"}
    vectors = []
    for line in (HERE / "xss_vectors.txt").read_text(encoding="utf-8").split("\n"):
        if not line.strip() or line.startswith("#!"):
            continue
        line = re.sub(r"\\[ntr0]", lambda m: escapes[m.group()], line)
        vectors.append(line.replace("MEDIA", MEDIA))
    return vectors


XSS_VECTORS = _load_vectors()

#: Tag → attributes the WeChat HTML may carry; every tag may carry `style`.
OUTPUT_ATTRIBUTES: dict[str, frozenset[str]] = {
    **{
        tag: frozenset()
        for tag in (
            "section p h1 h2 h3 h4 h5 h6 blockquote strong em u s sup sub span code pre "
            "table caption thead tbody tfoot tr br hr"
        ).split()
    },
    "th": frozenset({"colspan", "rowspan"}),
    "td": frozenset({"colspan", "rowspan"}),
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt"}),
}
_ALIGNED_CELL = re.compile(r"text-align:(left|center|right);")
_DANGEROUS_URL = re.compile(r"^[\s\x00-\x1f]*(javascript|vbscript|livescript|data):", re.I)


def assert_harmless(html: str) -> None:
    """The output holds only the walker's own tags, attributes and styles."""
    lowered = html.lower()
    for fragment in (
        "<script",
        "<style",
        "<iframe",
        "<object",
        "<embed",
        "<svg",
        "<meta",
        "<link",
        "<base",
        "<form",
        "<input",
        "<math",
        "<frame",
    ):
        assert fragment not in lowered
    # Text and attribute values are escaped, so every "<" opens a real tag and every
    # '"' delimits a value: with the values blanked, only attribute names remain.
    for tag in re.findall(r"<[^>]*>", html):
        names = re.sub(r'"[^"]*"', '""', tag)
        assert not re.search(r"\s(on\w*|class|id)\s*=", names, re.I), tag
        assert not re.search(r'=(?!"")', names), tag  # every value quoted
        assert not re.search(r'\s(href|src)="[\s\x00-\x1f]*(javascript|vbscript|livescript|data):', tag, re.I), tag
    for tag, attrs in _Tree(html).elements:
        assert tag in OUTPUT_ATTRIBUTES, tag
        assert set(attrs) <= OUTPUT_ATTRIBUTES[tag] | {"style"}, (tag, attrs)
        style = attrs.get("style")
        if style is not None and style not in STYLES.values():
            base = STYLES.get(tag, "")
            assert tag in ("th", "td") and style.startswith(base), (tag, style)
            assert _ALIGNED_CELL.fullmatch(style[len(base) :]), style
        for name in ("href", "src"):
            if name in attrs:
                assert not _DANGEROUS_URL.match(attrs[name]), (tag, attrs)
        if tag == "a":
            assert attrs.get("href", "").startswith("https://mp.weixin.qq.com/"), attrs
        if tag == "img":
            assert attrs.get("src") in (MEDIA, fake_upload(MEDIA)), attrs


def test_there_are_over_a_hundred_vectors() -> None:
    assert len(XSS_VECTORS) >= 100
    assert len(set(XSS_VECTORS)) == len(XSS_VECTORS)


@pytest.mark.parametrize("vector", XSS_VECTORS, ids=[f"v{i:03d}" for i in range(len(XSS_VECTORS))])
@pytest.mark.parametrize("upload", [None, fake_upload], ids=["preview", "uploaded"])
def test_xss_vector_is_neutralised(vector: str, upload: Callable[[str], str] | None) -> None:
    assert_harmless(render_article(vector, image_url=upload).html)


def test_harmless_check_catches_what_it_should() -> None:
    # Guard against a checker that passes everything.
    for bad in (
        '<section onclick="x">a</section>',
        '<a href="javascript:alert(1)">a</a>',
        '<a href="https://example.com/">a</a>',
        '<img src="data:image/png;base64,AA" style="">',
        '<p class="x">a</p>',
        '<p style="color:red">a</p>',
        "<p style=x onclick=y>a</p>",
        '<p title="a" onclick="y">a</p>',
        "<script>alert(1)</script>",
        "<div>a</div>",
    ):
        with pytest.raises(AssertionError):
            assert_harmless(bad)


def test_lookalike_wechat_links_become_references() -> None:
    body = "\n\n".join(
        f"[链接{i}]({url})"
        for i, url in enumerate(
            [
                "http://mp.weixin.qq.com/s/a",
                "https://mp.weixin.qq.com.evil.example/s/a",
                "https://evil.example\\@mp.weixin.qq.com/s/a",
                "https://mp.weixin.qq.com@evil.example/s/a",
                "https://mp.weixin.qq.com:8443/s/a",
            ]
        )
    )
    article = render_article(body)
    assert "<a " not in article.html
    assert len(article.references) == 5


# --- text comes through intact -------------------------------------------------

PUNCTUATION = "“公开为原则，不公开为例外”；要求：「属地管理、分级负责」——做到不缺位、不失语……（见《意见》）！R&D？"


def test_chinese_punctuation_is_intact_and_not_entity_escaped() -> None:
    html = render_article(PUNCTUATION).html
    assert _Tree(html).text == PUNCTUATION
    assert PUNCTUATION.replace("&", "&amp;") in html
    assert "&#" not in html


def test_long_paragraph_is_one_paragraph_intact() -> None:
    sentence = "为进一步加强政务舆情应对工作，提升政务公开水平，增强政府公信力；“谁主管、谁负责”——及时回应……"
    paragraph = (sentence * (5000 // len(sentence) + 1))[:5000]
    html = render_article(paragraph).html
    assert len(paragraph) == 5000
    assert _Tree(html).text == paragraph
    assert html.count("<p") == 1


def test_markdown_escapes_stay_text() -> None:
    html = render_article("1 < 2 且 3 > 2，`a<b>&c` 与 \\*星号\\*").html
    assert _Tree(html).text == "1 < 2 且 3 > 2，a<b>&c 与 *星号*"
    assert "<b>" not in html


# --- lists -----------------------------------------------------------------------


def test_lists_get_explicit_markers_and_nested_lists_are_indented() -> None:
    html = render_article("- 监测收集\n- 分析研判\n    1. 归口报送\n    2. 应对处置\n").html
    text = _Tree(html).text
    assert "• 监测收集" in text and "• 分析研判" in text
    assert "1. 归口报送" in text and "2. 应对处置" in text
    assert "<ul" not in html and "<ol" not in html and "<li" not in html
    assert f'<section style="{STYLES["nested_list"]}">' in html
    assert html.count(f'<section style="{STYLES["list"]}">') == 1


def test_ordered_list_honours_start() -> None:
    text = _Tree(render_article("3. 公开回应\n4. 信息优先发布\n").html).text
    assert "3. 公开回应" in text and "4. 信息优先发布" in text
    assert "1. " not in text


def test_loose_list_marker_sits_inside_the_paragraph() -> None:
    html = render_article("1. 第一段\n\n2. 第二段\n").html
    assert '<p style="margin:0 0 1em;">1. 第一段</p>' in html
    assert '<p style="margin:0 0 1em;">2. 第二段</p>' in html


# --- links -------------------------------------------------------------------------


def test_external_links_become_numbered_deduplicated_references() -> None:
    body = (
        "见[国务院](https://www.gov.cn/)与[农业农村部](https://www.moa.gov.cn/)，"
        "再见[国务院网站](https://www.gov.cn/)，或写信至[办公室](mailto:office@example.cn)。"
    )
    article = render_article(body)
    assert article.references == ["https://www.gov.cn/", "https://www.moa.gov.cn/", "mailto:office@example.cn"]
    text = _Tree(article.html).text
    assert "见国务院[1]与农业农村部[2]，再见国务院网站[1]，或写信至办公室[3]。" in text
    assert text.endswith(
        "参考链接\n[1] https://www.gov.cn/\n[2] https://www.moa.gov.cn/\n[3] mailto:office@example.cn\n"
    )
    assert "<a " not in article.html


def test_wechat_links_stay_clickable_and_need_no_references() -> None:
    article = render_article("详见[原文](https://mp.weixin.qq.com/s/AbC?x=1&y=2)。")
    assert f'<a href="https://mp.weixin.qq.com/s/AbC?x=1&amp;y=2" style="{STYLES["a"]}">原文</a>' in article.html
    assert article.references == []
    assert "参考链接" not in article.html


def test_in_page_and_relative_links_keep_only_their_text() -> None:
    article = render_article("正文[^1]与[内部](/statements/5)。\n\n[^1]: 注释。")
    assert article.references == []
    assert "<a " not in article.html
    assert "↩" not in article.html


# --- images ------------------------------------------------------------------------


def test_images_are_rewritten_and_listed_once_in_order() -> None:
    body = f"![第一张]({OTHER_MEDIA})\n\n![第二张]({MEDIA})\n\n![再次]({OTHER_MEDIA})"
    article = render_article(body, image_url=lambda src: "https://mmbiz.qpic.cn/" + src[7:11])
    assert article.images == [OTHER_MEDIA, MEDIA]
    assert f'<img src="https://mmbiz.qpic.cn/bbbb" alt="第一张" style="{STYLES["img"]}">' in article.html
    assert 'src="https://mmbiz.qpic.cn/3f1c"' in article.html
    assert "/media/" not in article.html


def test_preview_keeps_media_sources() -> None:
    article = render_article(f"![图]({MEDIA})")
    assert f'<img src="{MEDIA}" alt="图"' in article.html
    assert article.images == [MEDIA]


def test_images_from_elsewhere_are_dropped() -> None:
    article = render_article("![外链](https://example.com/a.png)<img src='/media/x.png'>")
    assert "<img" not in article.html
    assert article.images == []


def test_table_cell_alignment_becomes_inline_style() -> None:
    html = render_article("| 项目 | 合计 |\n|:--|:-:|\n| 样品 | 3 |").html
    assert f'<td style="{STYLES["td"]}text-align:left;">样品</td>' in html
    assert f'<td style="{STYLES["td"]}text-align:center;">3</td>' in html


def test_raw_html_in_a_new_body_shows_as_text_and_does_nothing() -> None:
    html = render_article('<table><tr><td colspan="2">合计</td></tr></table>').html
    assert "<table" not in html and "&lt;td colspan=" in html


# --- limits ------------------------------------------------------------------------


def _limit_error(title: str = "标题", digest: str = "", html: str = "<p>正文</p>") -> ContentLimitError:
    with pytest.raises(ContentLimitError) as raised:
        check_limits(title, digest, html)
    return raised.value


def test_title_limit_is_32_characters() -> None:
    check_limits("政" * 32, "", "<p>正文</p>")
    error = _limit_error(title="政" * 33)
    assert (error.field, error.reason) == ("title", "微信标题不能超过 32 个字符（当前 33 个）")
    assert error.code == "invalid"


def test_digest_limit_is_128_characters() -> None:
    check_limits("标题", "要" * 128, "<p>正文</p>")
    error = _limit_error(digest="要" * 129)
    assert error.field == "digest"
    assert "128" in error.reason and "129" in error.reason


def test_content_must_stay_under_20000_characters() -> None:
    check_limits("标题", "", "文" * 19_999)
    error = _limit_error(html="文" * 20_000)
    assert error.field == "body"
    assert "20000" in error.reason and "含排版标记" in error.reason


def test_content_of_a_megabyte_fails() -> None:
    error = _limit_error(html="a" * (1024 * 1024))
    assert error.field == "body"
    assert "1 MB" in error.reason
    assert "1 MB" in _limit_error(html="文" * 349_526).reason  # 1,048,578 UTF-8 bytes


def test_a_rendered_statement_fits() -> None:
    article = render_article(STATEMENT, image_url=fake_upload)
    check_limits("关于网传“种子质量问题”的情况说明", "我院已完成核查。", article.html)
