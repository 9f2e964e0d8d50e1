"""Pipeline builder: order, repr with secrets masked, and from_ini == PasteDeploy loadapp."""

from __future__ import annotations

import textwrap

import pytest
from paste.deploy import loadapp

from harness import make_environ, serve
from middleware import Pipeline
from paste_fixtures import Tag, hello_app

INI = textwrap.dedent("""
    [pipeline:main]
    pipeline = first second third hello

    [filter:first]
    paste.filter_app_factory = paste_fixtures:tag_factory
    name = first
    secret_key = env:PIPELINE_TEST_SECRET

    [filter:second]
    paste.filter_app_factory = paste_fixtures:tag_factory
    name = second
    loud = yes

    [filter:third]
    paste.filter_app_factory = paste_fixtures:tag_factory
    name = third

    [app:hello]
    paste.app_factory = paste_fixtures:app_factory

    [app:bare]
    paste.app_factory = paste_fixtures:app_factory
""")


@pytest.fixture
def ini(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_TEST_SECRET", "hunter2-very-secret")
    path = tmp_path / "app.ini"
    path.write_text(INI)
    return path


def layering(app):
    """The chain of (type, name) from the outermost layer to the app."""
    chain = []
    while isinstance(app, Tag):
        chain.append((type(app).__name__, app.name, app.loud, app.secret_key))
        app = app.app
    chain.append(app)
    return chain


def test_first_use_is_the_outermost_layer():
    app = (Pipeline().use(Tag, name="outer").use(Tag, name="middle").use(Tag, name="inner")
           .wrap(hello_app))
    assert serve(app, make_environ()).body == b"hello outer,middle,inner"
    assert app.name == "outer" and app.app.name == "middle"


def test_wrap_returns_the_app_unchanged_for_an_empty_pipeline():
    assert Pipeline().wrap(hello_app) is hello_app


def test_use_returns_the_pipeline_and_refuses_non_callables():
    pipeline = Pipeline()
    assert pipeline.use(Tag) is pipeline
    with pytest.raises(TypeError, match="factory"):
        pipeline.use("not a factory")


def test_wrap_without_an_app_is_an_error():
    with pytest.raises(TypeError, match="app"):
        Pipeline().use(Tag).wrap()


def test_repr_lists_layers_outermost_first_with_secrets_masked():
    pipeline = Pipeline().use(Tag, name="a", secret_key="hunter2").use(Tag, name="b")
    text = repr(pipeline)
    assert "hunter2" not in text
    assert "secret_key='***'" in text
    assert text.index("name='a'") < text.index("name='b'")
    assert str(pipeline) == text


def test_from_ini_builds_the_same_layering_as_paste_deploy_loadapp(ini):
    loaded = loadapp(f"config:{ini}")
    pipeline = Pipeline.from_ini(ini)
    built = pipeline.wrap()
    assert layering(built) == layering(loaded)
    assert [layer[1] for layer in layering(built)[:-1]] == ["first", "second", "third"]
    assert serve(built, make_environ()).body == serve(loaded, make_environ()).body


def test_from_ini_resolves_env_secrets_and_masks_them_in_repr(ini):
    pipeline = Pipeline.from_ini(ini)
    assert pipeline.wrap().secret_key == "hunter2-very-secret"
    text = repr(pipeline)
    assert "hunter2" not in text and "secret_key='***'" in text
    assert text.index("first(") < text.index("second(") < text.index("third(")


def test_from_ini_loads_a_named_app_section(ini):
    pipeline = Pipeline.from_ini(ini, name="bare")
    assert len(pipeline) == 0
    assert pipeline.wrap() is hello_app


def test_a_bad_option_in_the_ini_names_filter_and_file(ini):
    ini.write_text(INI.replace("loud = yes", "loud = maybe"))
    with pytest.raises(ValueError, match=r"filter 'tag' in .*app.ini: option 'loud'"):
        loadapp(f"config:{ini}")


def test_repr_shows_an_htpasswd_path_but_masks_passwords():
    text = repr(Pipeline().use(Tag, htpasswd="users.htpasswd", password="pw-value"))
    assert "users.htpasswd" in text and "pw-value" not in text


def test_from_ini_checks_every_option_when_it_loads_not_at_wrap(ini):
    ini.write_text(INI.replace("loud = yes", "loud = maybe"))
    with pytest.raises(ValueError, match=r"filter 'tag' in .*app.ini: option 'loud'"):
        Pipeline.from_ini(ini)


def test_a_value_a_middleware_refuses_at_construction_names_the_section_and_file(tmp_path):
    path = tmp_path / "session.ini"
    path.write_text(textwrap.dedent("""
        [pipeline:main]
        pipeline = cookies hello

        [filter:cookies]
        use = egg:wsgi-middleware-suite#session
        secret_key = a-long-enough-secret-key-for-the-test-0123456789
        max_age = 99999999999w

        [app:hello]
        paste.app_factory = paste_fixtures:app_factory
    """))
    with pytest.raises(ValueError, match=r"^\[filter:cookies\] in .*session.ini: .*max_age") as info:
        Pipeline.from_ini(path)
    assert "secret" not in str(info.value).replace("secret_key", "")


def test_wrap_returns_the_stack_built_while_loading(ini):
    pipeline = Pipeline.from_ini(ini)
    assert pipeline.wrap() is pipeline.wrap()
    assert pipeline.build()[0] is pipeline.wrap() and pipeline.build()[-1] is hello_app
    pipeline.layers.pop(0)
    assert pipeline.wrap().name == "second"


class _Store:
    """A store object whose own repr shows its URL, password included."""

    def __init__(self, url):
        self.url = url

    def __repr__(self):
        return f"_Store({self.url!r})"


def test_repr_masks_passwords_in_every_url_it_shows():
    """Pipeline's repr showed a Redis password held in a store URL option."""
    from middleware import SessionMiddleware

    pipeline = (Pipeline()
                .use(SessionMiddleware, secret_key="k" * 32, store="redis://:pw-redis-1@127.0.0.1:1/0")
                .use(Tag, backend=_Store("redis://admin:pw-redis-2@cache:6379/0"),
                     urls=["postgres://app:pw-db-3@db/app", "https://example.org/"],
                     extra={"dsn": "x-dsn-4", "cache": "redis://cache/0?password=pw-query-5"},
                     pin="246813579", DB_PASSWORD="pw-env-6"))
    text = repr(pipeline)
    for secret in ("pw-redis-1", "pw-redis-2", "pw-db-3", "x-dsn-4", "pw-query-5", "246813579",
                   "pw-env-6", "k" * 32):
        assert secret not in text, secret
    assert "redis://:***@127.0.0.1:1/0" in text and "https://example.org/" in text
    assert "redis://admin:***@cache:6379/0" in text and str(pipeline) == text


def test_ini_repr_masks_a_redis_url_option(ini):
    ini.write_text(INI.replace("pipeline = first", "pipeline = redis first") + textwrap.dedent("""
        [filter:redis]
        use = egg:wsgi-middleware-suite#session
        secret_key = a-long-enough-secret-key-for-the-test-0123456789
        store = redis://:pw-ini@h/0
    """))
    text = repr(Pipeline.from_ini(ini))
    assert "pw-ini" not in text and "redis://:***@h/0" in text
