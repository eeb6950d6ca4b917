"""British English as Heard writes it: "5 March 2026", "5 March 2026, 14:30", the 24-hour
clock. Templates and code ask for these by name (`|date:"DATE_FORMAT"`), so that another
language brings its own order and words (a `formats.py` beside this one, e.g. `cy/`)."""

DATE_FORMAT = "j F Y"  # 5 March 2026
DATETIME_FORMAT = "j F Y, H:i"  # 5 March 2026, 14:30
TIME_FORMAT = "H:i"  # 14:30
SHORT_DATE_FORMAT = "j M Y"  # 5 Mar 2026
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 5 Mar 2026, 14:30
YEAR_MONTH_FORMAT = "F Y"  # March 2026
MONTH_DAY_FORMAT = "j F"  # 5 March
