"""A community's five-day method and its calendar: the theme of each weekday, one-off changes, the
public holidays and make-up workdays that move them (entered when chinesecalendar does not know a
year yet), and named days residents say (圣诞节). Part of the community file (config/community.py's
`Community.themes`); read by handlers/themes.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.derived import cached_on


class _Model(BaseModel):
    # As config/community.py's: unknown keys are typos far more often than extensions.
    model_config = ConfigDict(extra="forbid", frozen=True)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_NAMES_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class Theme(_Model):
    title: str
    description: str
    time: str = ""
    place: str = ""
    team: str | None = None
    bring: str = ""


class ThemeOverride(_Model):
    date: dt.date
    theme: Theme | None = None  # None: no activity that day (cancelled)
    note: str = ""


# A holiday range longer than this is a typo (the longest, Spring Festival, is about nine days).
MAX_HOLIDAY_DAYS = 31


class CalendarHoliday(_Model):
    """One public holiday of the State Council's schedule: a single `date` or `from`..`to`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)  # as residents say it: 春节, 国庆节
    date: dt.date | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None

    @model_validator(mode="after")
    def _a_date_or_a_range(self) -> CalendarHoliday:
        if self.date is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("a holiday has either 'date' or 'from' and 'to', not both")
        if self.date is None and (self.from_ is None or self.to is None):
            raise ValueError("a holiday needs 'date', or both 'from' and 'to'")
        return self

    def days(self) -> list[dt.date]:
        """Every date of the holiday (none for a range whose `to` is before its `from`)."""
        if self.date is not None:
            return [self.date]
        assert self.from_ is not None and self.to is not None
        return [self.from_ + dt.timedelta(days=i) for i in range((self.to - self.from_).days + 1)]


class HolidayCalendar(_Model):
    """The State Council's holidays and make-up workdays (调休) as the community file gives them.

    Entries win over the chinesecalendar package for their dates; the rest of the year they cover
    is ordinary (weekends rest, weekdays work) once the package has no data for it.
    """

    holidays: list[CalendarHoliday] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)  # make-up workdays, usually weekend days

    def day(self, day: dt.date) -> tuple[bool, str | None] | None:
        """(is_holiday, holiday name) when an entry names `day`, else None."""
        def by_date() -> dict[dt.date, tuple[bool, str | None]]:
            days: dict[dt.date, tuple[bool, str | None]] = {}
            for holiday in self.holidays:
                for date in holiday.days():
                    days.setdefault(date, (True, holiday.name))
            for date in self.workdays:
                days.setdefault(date, (False, None))
            return days

        return cached_on(self, "days", (self.holidays, self.workdays), by_date).get(day)

    def years(self) -> set[int]:
        """The years with at least one entry: the file covers them whole."""
        dates = [d for h in self.holidays for d in (h.date, h.from_, h.to) if d is not None]
        return {d.year for d in [*dates, *self.workdays]}


class NamedDay(_Model):
    """A day residents name that is no public holiday and falls on the same date every year
    (圣诞节, 12-25): "圣诞节理发" books that day. Public holidays come from the calendar."""

    name: str = Field(min_length=1)
    words: list[str] = Field(default_factory=list)  # other ways residents say it (圣诞)
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _a_real_date(self) -> NamedDay:
        try:
            dt.date(2024, self.month, self.day)  # a leap year: 2-29 is a date
        except ValueError:
            raise ValueError(f"{self.month}-{self.day} is not a date") from None
        return self


class Themes(_Model):
    post_time: dt.time = dt.time(8, 0)
    grace_minutes: int = Field(default=120, ge=0)
    weekly: dict[Literal[WEEKDAYS], Theme] = Field(default_factory=dict)  # type: ignore[valid-type]
    overrides: list[ThemeOverride] = Field(default_factory=list)
    holiday_greeting: str | None = None  # "{holiday}" in it becomes the holiday's name (春节, 国庆节 …)
    # An official make-up workday (调休) falls on a weekend: "monday".."friday" posts that day's
    # theme (the calendar does not say which weekday is being made up), "none" posts nothing.
    makeup_workday: Literal["none", "monday", "tuesday", "wednesday", "thursday", "friday"] = "monday"
    # Next year's holidays as the State Council publishes them, before chinesecalendar has them.
    calendar: HolidayCalendar = Field(default_factory=HolidayCalendar)
    # Days residents name that are not public holidays (圣诞节): their dates are data.
    named_days: list[NamedDay] = Field(default_factory=list)

    def theme_for_weekday(self, weekday: int) -> Theme | None:
        return self.weekly.get(WEEKDAYS[weekday])
