"""Bodies the render pipeline must keep rendering as approved: the demo statements, bodies from the tests, and
one body per Markdown feature statements use (headings, emphasis, lists, tables, quotes, links, images, footnotes,
line breaks, the raw HTML of older bodies). `golden/render_v1.json` holds what renderer version 1 made of each."""

from __future__ import annotations

from huiying.demo import BODY as DEMO_BODY
from tests.wechat.test_render import MEDIA, STATEMENT

BODIES: dict[str, str] = {
    "demo": DEMO_BODY,
    "demo_draft": "正在起草……\n\n请专家补充条锈病防控要点。",
    "demo_bold": "经第三方检测机构复检，相关样品农药残留**均符合国家标准**。",
    "demo_plain": "我所已会同有关部门对投诉进行核查，并责成相关企业限期整改。",
    "demo_rules": "为进一步加强政务舆情应对工作，提升政务公开水平，增强政府公信力，制订本制度。\n\n"
                  "坚持“谁主管谁发声、谁处置谁发声”。",
    "wechat_golden": STATEMENT,
    "render_once": "经核实，**网传信息不实**。\n\n1. 第一\n2. 第二\n\n"
                   "详见[说明](https://example.com/a)。\n\n> 引用一段",
    "heading_list": "## 情况说明\n\n经核实，**网传信息不实**。\n\n- 一\n- 二",
    "link": "经核实，网传信息**不实**。\n\n详见[通报](https://www.moa.gov.cn/notice)。",
    "headings": "# 一级\n\n## 二级\n\n### 三级\n\n#### 四级\n\n##### 五级\n\n###### 六级",
    "emphasis": "**粗体**、*斜体*、***粗斜体***、`代码`，以及 \\*转义\\* 的星号。",
    "ordered_start": "3. 第三项\n4. 第四项\n5. 第五项",
    "nested_lists": "1. 调取报告：\n    - 发芽率；\n    - 净度。\n2. 走访农户。",
    "loose_list": "- 第一项\n\n- 第二项\n\n- 第三项",
    "table_align": "| 项目 | 标准 | 结果 |\n|:--|:--:|--:|\n| 发芽率 | ≥85% | 92% |\n| 净度 | ≥99% | 99.2% |",
    "table_plain": "| 项目 | 结果 |\n|---|---|\n| 样品 | 合格 |",
    "quote": "> 依据《种子法》第四十一条。\n>\n> 第二段引用。",
    "nested_quote": "> 引用\n>> 二级引用",
    "links": "见[门户](https://www.gov.cn/)、[邮件](mailto:xxb@example.cn)与<https://www.moa.gov.cn/>，"
             "以及带标题的[链接](https://example.com/a \"说明\")。",
    "bad_links": "[脚本](javascript:alert(1))、[数据](data:text/html,x)、[相对](/releases/1)、[锚点](#top)。",
    "image": f"![复检报告首页]({MEDIA})",
    "image_titled": f"文字\n\n![图一]({MEDIA} \"报告\")",
    "image_elsewhere": "![x](https://evil.example/a.png)",
    "footnotes": "正文[^1]，另见[^note]。\n\n[^1]: 第一条注释。\n[^note]: 第二条注释。",
    "line_breaks": "河南省农业科学院办公室\n2024年3月15日",
    "hard_break": "第一行  \n第二行",
    "rule": "上文\n\n---\n\n下文",
    "fenced_code": "```\ncode <b>x</b>\n```",
    "entities": "A&amp;B &copy; 5 < 6 > 4 \"引号\" 'single'",
    "raw_figure": f'<figure><img src="{MEDIA}" alt="现场照片"><figcaption>现场照片</figcaption></figure>',
    "raw_inline": "经核实，网传消息不实。\n<b>原文</b>",
    "raw_script": "# 说明\n\n经核实<script>alert(1)</script>，**不实**。",
    "raw_div": "<div><p>原始 HTML</p></div>",
    "raw_class": '<div class="status status-approved" id="decision">已批准</div>\n\n'
                 '<p><span class="badge" id="x">领导已签发</span></p>\n\n正文[^1]\n\n[^1]: 注释',
    "def_list": "术语\n:   释义",
    "phone_id": "当事人身份证号11010519491231002X，电话13812345678。",
    "url_text": "早于检查的稿件 https://example.com/a",
    "chinese_punct": "“引号”、《书名》——破折号……省略号！？",
}
