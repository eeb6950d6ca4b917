"""Text ready for translation: every user-facing string is marked (gettext in Python,
`{% translate %}` / `{% blocktranslate %}` in templates), nothing is translated once at import,
and numbers and dates follow the language while machine formats do not.

The template checks read every template with Django's own Lexer, replace every tag and variable
by a placeholder, drop the inside of translate blocks and comments, and parse what is left as
HTML: any text or user-visible attribute (title, alt, aria-label, placeholder, a submit button's
value, the meta description) still holding letters is a string nobody can translate. The
allow-lists below say what may stay literal, and why.
"""

import ast
import datetime as dt
import importlib
import inspect
import pkgutil
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import models
from django.template.base import Lexer, TokenType
from django.template.loader import render_to_string
from django.utils import formats, translation
from django.utils.functional import Promise

from portal.charts import Chart, Series
from portal.l10n import lazy_format, number
from portal.moderation import QUEUES, ModerationQueueAdmin
from reviews.syndication import provider_badge
from tests.factories import ProviderFactory

ROOT = Path(settings.BASE_DIR)
OUR_APPS = ("accounts", "portal", "reviews", "responses")

# --- allow-lists ---------------------------------------------------------------------------
# Whole templates that are not text for people to read in their language.
NOT_TEXT = {
    # Swagger UI's shell around the API docs: developer documentation, in English like the
    # OpenAPI schema (summaries, descriptions, examples) it shows.
    "api/swagger_ui.html": "API developer documentation",
}
# Words that may stay literal in one template.
LITERAL_WORDS = {
    # The brand. Every other template says {{ SITE_NAME }}, but the 500 page is rendered with no
    # context at all (whatever broke may be what a context processor needs).
    "500.html": {"Heard"},
}
# Not checked anywhere: URLs and paths in plain-text emails ("/privacy/", "#invitations").
URL_RE = re.compile(r"[a-z]+://\S+|(?<![\w])[/#][\w/#.?=&-]*")
# Attributes people read (or hear), and meta tags that search results show.
READ_ATTRIBUTES = {"title", "alt", "aria-label", "aria-description", "placeholder"}
READ_META = {"description", "og:title", "og:description", "twitter:title", "twitter:description"}
BUTTON_INPUTS = {"submit", "button", "reset"}
# Dates for people use the language's named formats ("DATE_FORMAT": "5 March 2026" in en-GB);
# these are for machines (the datetime attribute of <time>, a month's query value).
MACHINE_DATE_FORMATS = {"c", "Y-m-d", "Y-m", "U"}

PLACEHOLDER = "\u2063"  # an invisible separator: stands for every tag and variable
LETTER_RE = re.compile(r"[^\W\d_]")
BLOCKS_WITHOUT_TEXT = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SKIPPED_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim"}


def template_roots() -> list[Path]:
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    for name in OUR_APPS:
        app_templates = Path(apps.get_app_config(name).path) / "templates"
        if app_templates.is_dir():
            roots.append(app_templates)
    return roots


def all_templates() -> list[tuple[str, Path]]:
    found = []
    for root in template_roots():
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".html", ".txt", ".svg", ".xml"}:
                found.append((path.relative_to(root).as_posix(), path))
    return found


# --- the template checker --------------------------------------------------------------------
def _tag_problems(contents: str) -> list[str]:
    """What a tag or variable says that a translator cannot reach, or a language cannot
    change: English-only plurals, fixed date formats, literal fallback text."""
    problems = []
    if "|pluralize" in contents:
        problems.append("`pluralize` knows English plurals only: use {% blocktranslate count %}")
    for date_format in re.findall(r"\|(?:date|time):[\"']([^\"']*)[\"']", contents):
        if not date_format.endswith("_FORMAT") and date_format not in MACHINE_DATE_FORMATS:
            problems.append(
                f'date format {date_format!r}: use a named one ("DATE_FORMAT", '
                '"DATETIME_FORMAT", …) so that each language has its own'
            )
    literal = re.search(r"\|default(?:_if_none)?:([\"'])(.*?)\1", contents)
    if literal and re.search(r"\s|[A-Z]", literal.group(2)):
        problems.append(f"literal text {literal.group(2)!r}")
    return problems


def _strip_translated(source: str) -> tuple[str, list[str]]:
    """The template with every tag and variable replaced by PLACEHOLDER and translate blocks
    and comments dropped; and the problems the Lexer alone can see."""
    out, problems, closing = [], [], []
    for token in Lexer(source).tokenize():
        kind, contents = token.token_type, token.contents.strip()
        name = contents.split()[0] if kind == TokenType.BLOCK and contents else ""
        if closing:
            if kind == TokenType.BLOCK and name == closing[-1]:
                closing.pop()
                out.append(PLACEHOLDER)
            elif (
                kind == TokenType.VAR
                and closing[-1] in BLOCKS_WITHOUT_TEXT.values()
                and not re.fullmatch(r"\w+", contents)
            ):
                # Django renders nothing for these inside a blocktranslate, silently.
                problems.append(
                    f"line {token.lineno}: {{{{ {contents} }}}} inside blocktranslate renders "
                    "nothing: bind it first (`with name=value|filter`)"
                )
            continue
        if kind in (TokenType.BLOCK, TokenType.VAR):
            problems += [f"line {token.lineno}: {p}" for p in _tag_problems(contents)]
        if kind == TokenType.BLOCK and name in {**BLOCKS_WITHOUT_TEXT, **SKIPPED_BLOCKS}:
            closing.append({**BLOCKS_WITHOUT_TEXT, **SKIPPED_BLOCKS}[name])
            out.append(PLACEHOLDER)
        elif kind == TokenType.TEXT:
            out.append(token.contents)
        elif kind != TokenType.COMMENT:
            out.append(PLACEHOLDER)
    # A tag name made by a template tag (`<{% if a %}a{% else %}button{% endif %} ...>`) is
    # still a tag.
    flat = "".join(out).replace("</" + PLACEHOLDER, "</x").replace("<" + PLACEHOLDER, "<x ")
    return flat, problems


class _TextFinder(HTMLParser):
    def __init__(self, allowed_words: set[str]):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed_words
        self.found: list[str] = []
        self._in_code = 0

    def _untranslated(self, text: str) -> bool:
        text = URL_RE.sub(" ", text.replace(PLACEHOLDER, " "))
        words = [w for w in re.split(r"\s+", text) if w and w.strip("–—-:,.()") not in self.allowed]
        return bool(LETTER_RE.search(" ".join(words)))

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._in_code += 1
        values = dict(attrs)
        for name, value in attrs:
            read = name in READ_ATTRIBUTES
            read |= name == "value" and tag == "input" and values.get("type") in BUTTON_INPUTS
            read |= (
                name == "content"
                and tag == "meta"
                and (values.get("name") in READ_META or values.get("property") in READ_META)
            )
            if read and value and self._untranslated(value):
                self.found.append(f"line {self.getpos()[0]}: {name}={value.strip()!r}")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in {"script", "style"}:
            self._in_code -= 1

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._in_code = max(0, self._in_code - 1)

    def handle_data(self, data):
        if not self._in_code and self._untranslated(data):
            text = " ".join(data.replace(PLACEHOLDER, " ").split())
            self.found.append(f"line {self.getpos()[0]}: {text[:90]!r}")


def untranslated(source: str, allowed_words: frozenset[str] = frozenset()) -> list[str]:
    """What in this template's source a translator could not reach."""
    flat, problems = _strip_translated(source)
    finder = _TextFinder(set(allowed_words))
    finder.feed(flat)
    finder.close()
    return problems + finder.found


@pytest.mark.parametrize(
    ("name", "path"),
    [pytest.param(name, path, id=name) for name, path in all_templates()],
)
def test_every_template_marks_its_text_for_translation(name, path):
    if name in NOT_TEXT:
        pytest.skip(NOT_TEXT[name])
    problems = untranslated(path.read_text(), frozenset(LITERAL_WORDS.get(name, ())))
    assert not problems, f"{name}: text outside {{% translate %}}:\n" + "\n".join(problems)


def test_the_allow_lists_name_templates_that_exist():
    names = {name for name, _path in all_templates()}
    assert set(NOT_TEXT) <= names
    assert set(LITERAL_WORDS) <= names


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>Hello</p>", "'Hello'"),
        ('<a href="/" title="Home">{% translate "Home" %}</a>', "title='Home'"),
        ('<img src="x.png" alt="Our logo">', "alt='Our logo'"),
        ('<input type="submit" value="Send">', "value='Send'"),
        ('<input placeholder="{{ x }} or town">', "placeholder="),
        ('<meta name="description" content="Reviews">', "content='Reviews'"),
        ("<p>{{ n }} star{{ n|pluralize }}</p>", "pluralize"),
        ("{% blocktranslate %}By {{ review.author }}{% endblocktranslate %}", "renders nothing"),
        ("{% blocktranslate %}On {{ d|date }}{% endblocktranslate %}", "renders nothing"),
        ('<{% if a %}a href="/"{% else %}button{% endif %}>Go</x>', "'Go'"),
        ("{% translate 'x' %} Dear {{ name }},", "'Dear ,'"),
        ('{{ title|default:"Heard API" }}', "literal text"),
        ('<p>{{ day|date:"j F Y" }}</p>', "date format 'j F Y'"),
        ("{% blocktranslate with d=day|date:'F Y' %}In {{ d }}{% endblocktranslate %}", "'F Y'"),
    ],
)
def test_the_checker_finds_untranslated_text(source, expected):
    problems = untranslated("{% load i18n %}" + source)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "source",
    [
        '{% translate "Hello" %} <a href="{% url "home" %}" title="{% translate "Home" %}">→</a>',
        "{% blocktranslate count n=c %}{{ n }} star{% plural %}"
        "{{ n }} stars{% endblocktranslate %}",
        "{# Some words #}{% comment %}More words{% endcomment %}<p>{{ review.title }}</p>",
        '<script nonce="{{ n }}">const words = "not text";</script>',
        '<input type="hidden" name="action" value="approve"><button value="draft">…</button>',
        "{% translate 'Our rules:' %} {{ SITE_URL }}/reviews-policy/#rules",
        '<p>{{ x|default:"—" }} {{ level|default:"info" }} 4.5 · 12%</p>',
        '<time datetime="{{ t|date:\'c\' }}">{{ t|date:"DATETIME_FORMAT" }}</time>',
    ],
)
def test_the_checker_passes_translated_and_non_text(source):
    assert untranslated("{% load i18n %}" + source) == []


# --- Python: what is marked, and lazily where it must be ------------------------------------
def _our_modules():
    for app in OUR_APPS:
        package = importlib.import_module(app)
        yield package
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if any(part in {"migrations", "wsgi", "asgi"} for part in info.name.split(".")):
                continue
            yield importlib.import_module(info.name)


OUR_MODULES = list(_our_modules())


def _ours(obj) -> bool:
    return getattr(obj, "__module__", "").split(".")[0] in OUR_APPS


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _is_lazy(value) -> bool:
    return isinstance(value, Promise)


def test_every_choice_label_is_translated_lazily():
    choices = [c for c in _all_subclasses(models.Choices) if _ours(c)]
    assert len(choices) > 10  # found them all, not none
    eager = [
        f"{c.__qualname__}.{member.name}"
        for c in choices
        for member in c
        if not _is_lazy(member.label)
    ]
    assert not eager, f"TextChoices labels without gettext_lazy: {eager}"


def test_every_label_help_text_and_message_of_our_forms_is_translated_lazily():
    form_classes = [
        f for f in _all_subclasses(forms.BaseForm) if _ours(f) and hasattr(f, "declared_fields")
    ]
    assert len(form_classes) > 10
    problems = []
    for form in form_classes:
        where = f"{form.__module__}.{form.__qualname__}"
        for name, field in form.declared_fields.items():
            if field.label is not None and not _is_lazy(field.label):
                problems.append(f"{where}.{name}: label {field.label!r}")
            if field.help_text and not _is_lazy(field.help_text):
                problems.append(f"{where}.{name}: help_text {field.help_text!r}")
            for code, message in field.error_messages.items():
                if not _is_lazy(message):
                    problems.append(f"{where}.{name}: error {code} {message!r}")
            for value, label in getattr(field, "choices", None) or []:
                if isinstance(label, str) and LETTER_RE.search(label) and not _is_lazy(label):
                    problems.append(f"{where}.{name}: choice {value!r} {label!r}")
        meta = getattr(form, "Meta", None)
        for attribute in ("labels", "help_texts"):
            for name, text in (getattr(meta, attribute, None) or {}).items():
                if not _is_lazy(text):
                    problems.append(f"{where}.Meta.{attribute}[{name}] {text!r}")
    assert not problems, "\n".join(problems)


def test_every_model_names_itself_in_a_translatable_way():
    eager = []
    for model in apps.get_models(include_auto_created=False):
        if model._meta.app_label not in OUR_APPS:
            continue
        for option in ("verbose_name", "verbose_name_plural"):
            value = model._meta.original_attrs.get(option)
            if not _is_lazy(value):
                eager.append(f"{model._meta.label}.Meta.{option} = {value!r}")
    assert not eager, "set with gettext_lazy:\n" + "\n".join(eager)


def test_every_app_names_itself_in_a_translatable_way():
    for name in OUR_APPS:
        config = apps.get_app_config(name)
        if name == "portal":
            assert config.verbose_name == settings.SITE_NAME  # the brand, never translated
        else:
            assert _is_lazy(config.verbose_name), name


def test_every_admin_label_is_translated_lazily():
    """Column headings, action names, filter titles, fieldset names, queue and decision labels
    and the site's titles: all set at import time, so all lazy."""
    site = admin.site
    problems = [
        f"site.{attr}"
        for attr in ("site_header", "site_title", "index_title")
        if not _is_lazy(getattr(site, attr))
    ]
    checked = 0
    for model_admin in site._registry.values():
        cls = type(model_admin)
        if not _ours(cls):
            continue
        where = f"{cls.__module__}.{cls.__qualname__}"
        for name, member in inspect.getmembers(cls):
            description = getattr(member, "short_description", None)
            if description is not None:
                checked += 1
                if not _is_lazy(description):
                    problems.append(f"{where}.{name}: {description!r}")
        if issubclass(cls, ModerationQueueAdmin):
            for attr in ("approve_label", "reject_label"):
                if not _is_lazy(getattr(cls, attr)):
                    problems.append(f"{where}.{attr}")
        for list_filter in cls.list_filter:
            title = getattr(list_filter, "title", None)
            if inspect.isclass(list_filter) and title is not None and not _is_lazy(title):
                problems.append(f"{where}: filter title {title!r}")
        for title, _options in cls.fieldsets or ():
            if title is not None and not _is_lazy(title):
                problems.append(f"{where}: fieldset {title!r}")
    problems += [f"queue {q.admin_url_name}: {q.label!r}" for q in QUEUES if not _is_lazy(q.label)]
    assert checked > 20
    assert not problems, "\n".join(problems)


# --- Python: nothing translated once, at import ----------------------------------------------
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
LAZY = {"gettext_lazy", "ngettext_lazy", "pgettext_lazy", "npgettext_lazy"}


def import_time_translations(source: str) -> list[str]:
    """Calls that translate when the module is imported (module and class bodies, default
    values, decorators), fixing the text in whatever language was active then: a non-lazy
    gettext, or a lazy one with values put in by `%` or `.format()` (which translates at once;
    `portal.l10n.lazy_format` waits)."""
    tree = ast.parse(source)
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if alias.name in EAGER | LAZY:
                    names[alias.asname or alias.name] = alias.name in LAZY
    found = []

    def is_call(node, lazy: bool) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and names.get(node.func.id) is lazy
        )

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Lambda):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                for evaluated_now in (*child.decorator_list, *child.args.defaults):
                    visit(ast.Expression(body=evaluated_now))
                for default in child.args.kw_defaults:
                    if default is not None:
                        visit(ast.Expression(body=default))
                continue
            if is_call(child, lazy=False):
                found.append(f"line {child.lineno}: {child.func.id}() at import")
            if (
                isinstance(child, ast.BinOp)
                and isinstance(child.op, ast.Mod)
                and is_call(child.left, lazy=True)
            ):
                found.append(f"line {child.lineno}: lazy text % values at import")
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "format"
                and is_call(child.func.value, lazy=True)
            ):
                found.append(f"line {child.lineno}: lazy text .format() at import")
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize("module", OUR_MODULES, ids=lambda m: m.__name__)
def test_nothing_is_translated_at_import_time(module):
    if not getattr(module, "__file__", None):
        return
    found = import_time_translations(Path(module.__file__).read_text())
    assert not found, f"{module.__name__}: " + "; ".join(found)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from django.utils.translation import gettext as _\nX = [_('a')]", True),
        ("from django.utils.translation import gettext\nclass F:\n    t = gettext('a')", True),
        ("from django.utils.translation import gettext as _\ndef f(x=_('a')): pass", True),
        ("from django.utils.translation import gettext_lazy as _\nH = _('%(n)s') % {'n': 1}", True),
        ("from django.utils.translation import gettext_lazy as _\nX = [_('a')]", False),
        ("from django.utils.translation import gettext as _\ndef f():\n    return _('a')", False),
        ("from django.utils.translation import gettext as _\nF = lambda: _('a')", False),
    ],
)
def test_the_import_time_check_can_fail(source, found):
    assert bool(import_time_translations(source)) is found


def test_lazy_format_follows_the_language_of_the_moment():
    text = lazy_format(translation.gettext_lazy("Up to %(max)s at a time."), max=20000)
    assert _is_lazy(text)
    assert str(text) == "Up to 20,000 at a time."
    with translation.override("de"):  # Django's own German formats: 20.000
        assert "20.000" in str(text)


# --- numbers and dates for people; machine formats untouched ---------------------------------
def test_the_source_language_is_british_english():
    assert settings.LANGUAGE_CODE == "en-gb"
    assert [code for code, _name in settings.LANGUAGES] == ["en-gb"]
    assert settings.USE_I18N
    assert settings.TIME_ZONE == "Europe/London"
    assert Path(settings.LOCALE_PATHS[0]) == ROOT / "locale"


def test_dates_and_numbers_are_written_as_in_british_english():
    day = dt.date(2026, 3, 5)
    at = dt.datetime(2026, 3, 5, 14, 30)
    assert formats.date_format(day) == "5 March 2026"
    assert formats.date_format(day, "YEAR_MONTH_FORMAT") == "March 2026"
    assert formats.date_format(day, "MONTH_DAY_FORMAT") == "5 March"
    assert formats.date_format(at, "DATETIME_FORMAT") == "5 March 2026, 14:30"
    assert formats.date_format(at, "SHORT_DATETIME_FORMAT") == "5 Mar 2026, 14:30"
    assert intcomma(1234567) == "1,234,567"
    assert number(1234.56, 1) == "1,234.6"
    assert number(2.25, 1) == "2.2"  # rounded as Python rounds ("{:.1f}"), never cut off


def test_charts_write_figures_for_people_and_coordinates_for_the_svg():
    chart = Chart(
        title="T",
        labels=["a", "b"],
        series=[Series("Hours", [1234.5, 2.25])],
        kind="line",
        value_format="{:,.1f}",
    )
    with translation.override("de"):
        html = render_to_string("charts/chart.html", {"chart": chart})
    svg = html[html.index("<svg") : html.index("</svg>")]
    # The figures in the table are German ("1.234,5"); every SVG number keeps its point.
    assert "<td>1.234,5</td>" in html
    assert re.search(r'(?:x|y|cx|cy|x1|x2|y1|y2)="\d+,\d', svg) is None
    assert re.search(r'cy="\d+\.\d"', svg)


def test_the_badge_keeps_svg_numbers_unlocalised(rf, db):
    provider = ProviderFactory(review_count=1234, rating_sum=4 * 1234, score=4.25)
    with translation.override("de"):
        svg = provider_badge(rf.get("/"), provider.slug).content.decode()
    width = re.search(r'clipPath id="[^"]+"><rect [^>]*width="([^"]+)"', svg).group(1)
    assert re.fullmatch(r"\d+\.\d", width), width
    assert "1.234" in svg  # the review count people read is German, "1.234 reviews"
