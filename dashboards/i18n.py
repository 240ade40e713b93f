"""Chinese and English labels. The language is the page's ``?lang=`` (remembered in a cookie), else the
browser's ``Accept-Language``, else English."""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["en", "zh"]
LANGS: Final[tuple[Lang, ...]] = ("en", "zh")
LANG_COOKIE: Final = "shopfloor_lang"

LABELS: Final[dict[str, dict[Lang, str]]] = {
    "board": {"en": "Load board", "zh": "负荷看板"},
    "gantt": {"en": "Plan (Gantt)", "zh": "排产甘特图"},
    "orders": {"en": "Orders", "zh": "订单"},
    "machine": {"en": "Machine", "zh": "设备"},
    "machines": {"en": "Machines", "zh": "设备状态"},
    "updated": {"en": "Updated", "zh": "更新于"},
    "live": {"en": "LIVE", "zh": "实时"},
    "stale": {"en": "STALE: data not updating", "zh": "数据已过期：未更新"},
    "db_down": {"en": "database unreachable", "zh": "数据库不可达"},
    "stream_down": {"en": "live stream down", "zh": "实时连接中断"},
    "heatmap": {"en": "Utilization, last hour", "zh": "近一小时稼动率"},
    "oee": {"en": "OEE by workshop (this shift)", "zh": "各车间OEE（本班）"},
    "load": {"en": "Workcenter load vs capacity", "zh": "工作中心负荷与产能"},
    "pool": {"en": "Order pool", "zh": "订单池"},
    "pending": {"en": "Pending work orders", "zh": "待加工工单"},
    "bottleneck": {"en": "Bottleneck", "zh": "瓶颈"},
    "no_bottleneck": {"en": "none", "zh": "无"},
    "late": {"en": "Late orders", "zh": "延期订单"},
    "alerts": {"en": "Alerts", "zh": "预警"},
    "on_time": {"en": "On-time delivery", "zh": "准时交付率"},
    "week": {"en": "This week", "zh": "本周"},
    "month": {"en": "This month", "zh": "本月"},
    "target": {"en": "target", "zh": "目标"},
    "pareto": {"en": "Downtime by reason (this shift)", "zh": "本班停机原因排列图"},
    "minutes": {"en": "min", "zh": "分钟"},
    "hours": {"en": "h", "zh": "小时"},
    "order": {"en": "Order", "zh": "订单"},
    "customer": {"en": "Customer", "zh": "客户"},
    "due": {"en": "Due", "zh": "交期"},
    "projected": {"en": "Projected", "zh": "预计完工"},
    "promise": {"en": "Promise date", "zh": "承诺交期"},
    "status": {"en": "Status", "zh": "状态"},
    "priority": {"en": "Priority", "zh": "优先级"},
    "rush": {"en": "Rush", "zh": "加急"},
    "frozen": {"en": "Frozen", "zh": "冻结"},
    "moved": {"en": "Moved since last plan", "zh": "较上版计划变动"},
    "new_op": {"en": "New in this plan", "zh": "本版新增"},
    "removed": {"en": "Removed since last plan", "zh": "较上版计划移除"},
    "plan_version": {"en": "Plan version", "zh": "计划版本"},
    "no_plan": {"en": "No plan yet", "zh": "暂无计划"},
    "operations": {"en": "Operations", "zh": "工序"},
    "work_orders": {"en": "Work orders", "zh": "工单"},
    "versions": {"en": "Versions", "zh": "版本"},
    "quantity": {"en": "Quantity", "zh": "数量"},
    "filter": {"en": "Filter", "zh": "筛选"},
    "all": {"en": "all", "zh": "全部"},
    "search": {"en": "Search", "zh": "搜索"},
    "timeline": {"en": "State timeline", "zh": "状态时间线"},
    "current_shift": {"en": "Current shift", "zh": "本班"},
    "last_shift": {"en": "Last shift", "zh": "上一班"},
    "availability": {"en": "Availability", "zh": "时间开动率"},
    "performance": {"en": "Performance", "zh": "性能开动率"},
    "quality": {"en": "Quality", "zh": "合格品率"},
    "good": {"en": "Good", "zh": "良品"},
    "scrap": {"en": "Scrap", "zh": "废品"},
    "process": {"en": "Process values", "zh": "工艺参数"},
    "in_state": {"en": "in state", "zh": "持续"},
    "RUNNING": {"en": "Running", "zh": "运行"},
    "IDLE": {"en": "Idle", "zh": "空闲"},
    "SETUP": {"en": "Setup", "zh": "换型"},
    "STOPPED": {"en": "Stopped", "zh": "停机"},
    "MAINTENANCE": {"en": "Maintenance", "zh": "维护"},
    "FAULT": {"en": "Fault", "zh": "故障"},
    "OFFLINE": {"en": "Offline", "zh": "离线"},
    "NO_DATA": {"en": "No data", "zh": "无数据"},
    "draft": {"en": "draft", "zh": "草稿"},
    "pending_approval": {"en": "pending approval", "zh": "待审批"},
    "approved": {"en": "approved", "zh": "已审批"},
    "in_production": {"en": "in production", "zh": "生产中"},
    "on_hold": {"en": "on hold", "zh": "暂停"},
    "done": {"en": "done", "zh": "已完成"},
    "cancelled": {"en": "cancelled", "zh": "已取消"},
    "language": {"en": "中文", "zh": "English"},
}


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> Lang:
    """The page's language: an explicit choice first, then the browser's preference order."""
    for explicit in (query, cookie):
        if explicit in LANGS:
            return explicit
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGS:
            return primary
    return "en"


def labels(lang: Lang) -> dict[str, str]:
    return {key: texts[lang] for key, texts in LABELS.items()}
