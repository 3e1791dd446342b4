"""The evaluation as a report an officer would rather look at than read: bar charts drawn once
with reportlab.graphics, rendered to inline SVG for the HTML page (jinja2) and drawn into the PDF
(platypus tables; Chinese in the built-in CID font STSong-Light, nothing to embed).

Both renderings take the dict :func:`service.build_evaluation` returns and show the same
figures (:func:`sections`), so a test can check either against the events.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
#: What the SVG asks the browser for instead of the PDF's CID font name.
WEB_FONTS = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', "
             "'SimSun', sans-serif")
TEMPLATES = Path(__file__).resolve().parent / "templates"
PALETTE = (colors.HexColor("#2f6db5"), colors.HexColor("#3a9a5b"), colors.HexColor("#c8553d"),
           colors.HexColor("#8e6bb8"), colors.HexColor("#d9a21b"))
ASSESSMENT = {"met": ("达标", "met"), "not_met": ("未达标", "not met"),
              "not_assessable": ("无法评估", "not assessable (no stock to grow from)")}


# --- the figures both renderings show -----------------------------------------------------------

@dataclass
class Figure:
    key: str
    label_zh: str
    label_en: str
    value: str
    method: str = ""


@dataclass
class Section:
    key: str
    title_zh: str
    title_en: str
    figures: list[Figure]
    sources: list[str]
    table: dict[str, Any] | None = None  # {"columns": [(zh, en)], "rows": [[...]], "widths"}
    charts: list[str] = field(default_factory=list)


def grouped(value: Any) -> str:
    """1234567.8 → 1,234,567.80 (money), 12 → 12; None → —."""
    if value is None:
        return "—"
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d{2}", value):
        return f"{Decimal(value):,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _pct(value: str | None) -> str:
    return "—" if value is None else f"{value} %"


def sections(ev: dict[str, Any]) -> list[Section]:
    pool, hv, fin = ev["pool"], ev["high_value_patents"], ev["pledge_financing"]
    lic, rew, gc = ev["open_licences"], ev["rewards"], ev["green_channel"]
    pm, hm, fm, rm, gm = pool["method"], hv["method"], fin["method"], rew["method"], gc["method"]
    zh, en = ASSESSMENT[hv["assessment"]]
    target = hv["target"]
    hv_figures = [
        Figure("high_value_patents.in_force_at_year_end", "年末有效高价值发明专利", "In force at "
               "year end", grouped(hv["in_force_at_year_end"]), hm["in_force_at_year_end"]),
        Figure("high_value_patents.in_force_at_previous_year_end", "上年末有效量",
               "In force at previous year end", grouped(hv["in_force_at_previous_year_end"]),
               hm["in_force_at_previous_year_end"]),
        Figure("high_value_patents.growth_pct", "年增长率", "Growth in the year",
               _pct(hv["growth_pct"]), hm["growth"]),
        Figure("high_value_patents.target", "目标（年均增长）", "Target (average annual growth)",
               f"{target['annual_growth_pct']} %",
               f"{target['clause']['document']} {target['clause']['clause']}: "
               f"{target['clause'].get('text', '')}"
               + ("" if target["applies_to_scope"] else " — 大冶市目标，此处作参照 "
                  "(Daye's target, a benchmark here)")),
        Figure("high_value_patents.assessment", "达标情况", "Assessment",
               f"{zh} {en}" + (" (provisional 暂定)" if hv["provisional"] else ""),
               "growth ≥ target: met"),
    ]
    average = hv.get("average_since_baseline")
    if average:
        azh, aen = ASSESSMENT[average["assessment"]]
        hv_figures.append(Figure(
            "high_value_patents.average_growth_pct", f"{average['baseline_year']}年末以来年均增长",
            f"Average growth since end of {average['baseline_year']}",
            f"{_pct(average['average_growth_pct'])} ({azh} {aen})",
            hm["average_since_baseline"] + f"; baseline stock {average['stock_at_baseline']}"))
    reward_rows = [[r["pack_ref"], r["rule_code"], r.get("rule_name_zh") or "",
                    grouped(r["claims_paid"]), grouped(r["paid_cny"]),
                    grouped(r["recovered_cny"]), grouped(r["net_cny"])]
                   for r in rew["by_policy"]]
    removal_rows = [[r["reason"], grouped(r["count"])] for r in pool["removals_by_reason"]]
    return [
        Section("pool", "专利产业化样板企业培育库", "Model-enterprise cultivation pool", [
            Figure("pool.admissions", "入库", "Admissions", grouped(pool["admissions"]),
                   pm["admissions"]),
            Figure("pool.graduations", "出库（培育成功）", "Graduations",
                   grouped(pool["graduations"]), pm["graduations"]),
            Figure("pool.removals", "退库", "Removals", grouped(pool["removals"]),
                   pm["removals"]),
            Figure("pool.size_at_year_end", "年末在库企业", "In the pool at year end",
                   grouped(pool["size_at_year_end"]), pm["size_at_year_end"]),
            Figure("pool.size_at_previous_year_end", "上年末在库企业",
                   "In the pool at previous year end",
                   grouped(pool["size_at_previous_year_end"]), pm["size_at_year_end"]),
        ], pool["sources"], table={"columns": [("退库原因", "Removal reason"), ("数量", "Count")],
                                   "rows": removal_rows, "widths": [0.7, 0.3]}
            if removal_rows else None,
            charts=["pool"]),
        Section("high_value_patents", "高价值发明专利", "High-value invention patents",
                hv_figures, hv["sources"], charts=["high_value"]),
        Section("pledge_financing", "知识产权质押融资", "Patent pledge financing", [
            Figure("pledge_financing.loans_disbursed", "放款笔数", "Loans disbursed",
                   grouped(fin["loans_disbursed"]), fm["loans_disbursed"]),
            Figure("pledge_financing.amount_disbursed_cny", "放款金额（元）",
                   "Amount disbursed (CNY)", grouped(fin["amount_disbursed_cny"]),
                   fm["amount_disbursed_cny"]),
            Figure("pledge_financing.pledges_registered", "质押登记笔数", "Pledges registered",
                   grouped(fin["pledges_registered"]), fm["pledges_registered"]),
            Figure("pledge_financing.secured_amount_cny", "质押担保金额（元）",
                   "Secured amount (CNY)", grouped(fin["secured_amount_cny"]),
                   fm["secured_amount_cny"]),
        ], fin["sources"], charts=["loans"]),
        Section("open_licences", "专利开放许可", "Open licences", [
            Figure("open_licences.granted", "开放许可实施（许可数）", "Open licences granted",
                   grouped(lic["granted"]), lic["method"]["granted"]),
        ], lic["sources"], charts=["licences"]),
        Section("rewards", "奖补资金兑现", "Rewards paid by policy", [
            Figure("rewards.claims_paid", "兑现笔数", "Claims paid", grouped(rew["claims_paid"]),
                   rm["claims_paid"]),
            Figure("rewards.paid_cny", "兑现金额（元）", "Paid (CNY)", grouped(rew["paid_cny"]),
                   rm["paid_cny"]),
            Figure("rewards.in_recovery", "追回中", "In recovery", grouped(rew["in_recovery"]),
                   rm["in_recovery"]),
            Figure("rewards.recovered_cny", "已追回（元）", "Recovered (CNY)",
                   grouped(rew["recovered_cny"]), rm["recovered_cny"]),
            Figure("rewards.net_cny", "净兑现（元）", "Net paid (CNY)", grouped(rew["net_cny"]),
                   rm["net_cny"]),
        ], rew["sources"], table={"columns": [
            ("政策包", "Pack"), ("条款", "Rule"), ("名称", "Name"), ("笔数", "Claims"),
            ("兑现（元）", "Paid"), ("追回（元）", "Recovered"), ("净额（元）", "Net")],
            "rows": reward_rows, "widths": [0.2, 0.18, 0.2, 0.08, 0.12, 0.11, 0.11]}
            if reward_rows else None, charts=["rewards"]),
        Section("green_channel", "质押融资绿色通道时效", "Green-channel timeliness", [
            Figure("green_channel.decided", "审批决定", "Decisions", grouped(gc["decided"]),
                   gm["decided"]),
            Figure("green_channel.within_deadline", "时限内决定", "Within the deadline",
                   grouped(gc["within_deadline"]), gm["within_deadline"]),
            Figure("green_channel.late", "超时决定", "Late", grouped(gc["late"]), gm["late"]),
            Figure("green_channel.timeliness_pct", "按时率", "Timeliness",
                   _pct(gc["timeliness_pct"]), gm["timeliness"]),
            Figure("green_channel.undecided_past_deadline", "逾期未决", "Undecided past deadline",
                   grouped(gc["undecided_past_deadline"]), gm["undecided_past_deadline"]),
        ], gc["sources"]),
    ]


# --- charts -------------------------------------------------------------------------------------

def _wan(value: str) -> float:
    """Yuan → 万元 (10,000 CNY) for chart axes."""
    return float(Decimal(value) / 10000)


def _title(drawing: Drawing, text: str) -> None:
    drawing.add(String(drawing.width / 2, drawing.height - 14, text, fontName=FONT,
                       fontSize=10, textAnchor="middle"))


def _axis(axis: Any, top: float, whole: bool) -> None:
    """From zero; whole-number ticks for counts (no 0.5 enterprise), at most about six."""
    axis.valueMin = 0
    axis.forceZero = True
    if top <= 0:
        axis.valueMax, axis.valueStep = 1, 1
    elif whole:
        step = max(1, math.ceil(top / 6))
        axis.valueStep = step
        axis.valueMax = step * math.ceil(top / step)
        axis.labelTextFormat = "%d"


def _columns(title: str, categories: list[str], series: list[tuple[str, list[float]]],
             width: float = 460, height: float = 190, whole: bool = True) -> Drawing:
    drawing = Drawing(width, height)
    _title(drawing, title)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 45, 30, width - 60, height - 70
    chart.data = [values for _, values in series]
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontSize = 8
    _axis(chart.valueAxis, max((v for _, values in series for v in values), default=0), whole)
    chart.barSpacing = 1
    chart.groupSpacing = 6
    for i in range(len(series)):
        chart.bars[i].fillColor = PALETTE[i % len(PALETTE)]
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    if len(series) > 1:
        legend = Legend()
        legend.x, legend.y = 50, height - 24
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.deltax = 120
        legend.fontName = FONT
        legend.fontSize = 8
        legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], name)
                                 for i, (name, _) in enumerate(series)]
        drawing.add(legend)
    return drawing


def _bars(title: str, labels: list[str], values: list[float], width: float = 460,
          whole: bool = False) -> Drawing:
    height = max(90, 36 + 22 * len(labels)) if labels else 90
    drawing = Drawing(width, height)
    _title(drawing, title)
    if not labels:
        drawing.add(String(width / 2, height / 2 - 10, "本年无数据 no data for the year",
                           fontName=FONT, fontSize=9, textAnchor="middle"))
        return drawing
    chart = HorizontalBarChart()
    chart.x, chart.y = 170, 20
    chart.width, chart.height = width - 190, height - 44
    chart.data = [values]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontSize = 8
    _axis(chart.valueAxis, max(values, default=0), whole)
    chart.bars[0].fillColor = PALETTE[0]
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = _bar_label if whole else "%.2f"
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing


def _bar_label(value: float) -> str:
    """12 → 12, 12.1 → 12.1 (a target level need not be whole)."""
    return f"{value:,.1f}".removesuffix(".0")


MONTHS = [str(m) for m in range(1, 13)]


def charts(ev: dict[str, Any]) -> dict[str, Drawing]:
    """The report's bar charts, keyed by the section that shows them."""
    pool, hv = ev["pool"]["by_month"], ev["high_value_patents"]
    loans, lic = ev["pledge_financing"]["by_month"], ev["open_licences"]["by_month"]
    rewards = ev["rewards"]["by_pack"]
    stock = [("上年末 previous year end", hv["in_force_at_previous_year_end"]),
             ("年末 year end", hv["in_force_at_year_end"])]
    previous = hv["in_force_at_previous_year_end"]
    if previous:
        goal = previous * (1 + float(Decimal(hv["target"]["annual_growth"])))
        stock.append((f"目标 target (+{hv['target']['annual_growth_pct']} %)", round(goal, 1)))
    return {
        "pool": _columns("培育库按月变动 Pool movements by month（月 month）", MONTHS, [
            ("入库 admissions", [m["admissions"] for m in pool]),
            ("出库 graduations", [m["graduations"] for m in pool]),
            ("退库 removals", [m["removals"] for m in pool])]),
        "high_value": _bars("有效高价值发明专利与目标 High-value stock vs target（件 patents）",
                            [label for label, _ in stock], [float(v) for _, v in stock],
                            whole=True),
        "loans": _columns("质押贷款按月放款 Loans disbursed by month（万元 10k CNY）", MONTHS,
                          [("放款金额 amount", [_wan(m["amount_cny"]) for m in loans])],
                          whole=False),
        "licences": _columns("开放许可按月 Open licences by month（件 licences）", MONTHS,
                             [("开放许可 open licences", [m["licences"] for m in lic])]),
        "rewards": _bars("奖补兑现按政策包 Rewards paid by policy（万元 10k CNY）",
                         [p["pack_id"] for p in rewards], [_wan(p["paid_cny"]) for p in rewards]),
    }


_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)


def svg(drawing: Drawing) -> str:
    """Inline SVG (no XML prologue), asking the browser for a CJK font."""
    text = _XML_PROLOGUE.sub("", renderSVG.drawToString(drawing), count=1)
    return text.replace(FONT, WEB_FONTS.replace("'", "&apos;"))


# --- HTML ---------------------------------------------------------------------------------------

@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["grouped"] = grouped
    return env


def render_html(ev: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG)."""
    drawn = {key: svg(d) for key, d in charts(ev).items()}
    return _environment().get_template("report.html.j2").render(
        ev=ev, sections=sections(ev), charts=drawn, assessment=ASSESSMENT)


# --- PDF ----------------------------------------------------------------------------------------

_STYLES = {
    "title": ParagraphStyle("title", fontName=FONT, fontSize=16, leading=22, spaceAfter=4),
    "h2": ParagraphStyle("h2", fontName=FONT, fontSize=12, leading=16, spaceBefore=10,
                         spaceAfter=4, textColor=colors.HexColor("#1f3d66")),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13),
    "small": ParagraphStyle("small", fontName=FONT, fontSize=7, leading=9.5,
                            textColor=colors.HexColor("#444444")),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10.5),
}
_TABLE = TableStyle([
    ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8c2cc")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
])


def _p(text: str, style: str = "cell") -> Paragraph:
    escaped = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return Paragraph(escaped, _STYLES[style])


def render_pdf(ev: dict[str, Any]) -> bytes:
    """The report as an A4 PDF: figures with their methods, tables, the same charts."""
    buffer = io.BytesIO()
    scope = ev["scope"]
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm,
                            title=f"{ev['year']} 年度绩效评价 {scope['label_en']}",
                            author="ipbridge rewards")
    width = A4[0] - 32 * mm
    story: list[Any] = [
        _p(f"{ev['year']} 年度绩效评价 Annual performance evaluation — {scope['label_zh']} "
           f"({scope['label_en']})", "title"),
        _p(f"期间 Period: {ev['period']['from']} – {ev['period']['to']}; 截至 as of "
           f"{ev['period']['as_of']}{'' if ev['period']['complete'] else ' (年度未结束 year to date)'}"
           f"; 生成 generated {ev['generated_at']}", "body"),
    ]
    drawn = charts(ev)
    for section in sections(ev):
        rows = [[_p("指标 Figure"), _p("数值 Value"), _p("计算方法 Method")]]
        rows += [[_p(f"{f.label_zh} {f.label_en}"), _p(f.value), _p(f.method, "small")]
                 for f in section.figures]
        table = Table(rows, colWidths=[width * 0.30, width * 0.20, width * 0.50], repeatRows=1)
        table.setStyle(_TABLE)
        story += [_p(f"{section.title_zh} {section.title_en}", "h2"), table]
        if section.table:
            cols = section.table["columns"]
            extra = [[_p(f"{zh} {en}") for zh, en in cols]]
            extra += [[_p(str(c)) for c in row] for row in section.table["rows"]]
            t = Table(extra, colWidths=[width * w for w in section.table["widths"]],
                      repeatRows=1)
            t.setStyle(_TABLE)
            story += [Spacer(1, 4), t]
        story.append(_p("来源事件 Sources: " + ", ".join(section.sources), "small"))
        for key in section.charts:
            story += [Spacer(1, 4), KeepTogether([drawn[key]])]
    story.append(_p("政策依据 Policy basis", "h2"))
    for clause in ev["policy_basis"]:
        story.append(_p(f"{clause['document']} {clause['clause']}"
                        + (f"：{clause['text']}" if clause.get("text") else ""), "body"))
    story.append(_p("说明 Caveats", "h2"))
    for caveat in ev["caveats"]:
        story.append(_p(f"• {caveat}", "body"))
    story.append(_p("数据来源 Sources: " + ", ".join(ev["sources"]["events"]) + "; "
                    + ", ".join(ev["sources"]["tables"]), "small"))
    doc.build(story)
    return buffer.getvalue()
