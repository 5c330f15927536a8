"""liaison: people's congress representatives in the community (代表进社区) — the register of representatives and
liaison stations (联络站), reception days (代表接待日), 代表督办 of cases, 履职档案 with the "五个一" checks — and the
lights of every responsible unit (共建单位红黄绿灯)."""
