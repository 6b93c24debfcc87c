import pytest

import rnnzoo
from rnnzoo import registry


def test_natural_sort_and_patterns():
    reg = registry.Registry("thing")
    for name in ("t10", "t2", "t1", "other"):
        reg.register(name, name)
    assert reg.names() == ["other", "t1", "t2", "t10"]
    assert reg.names("t*") == ["t1", "t2", "t10"]
    assert reg.names("nothing*") == []


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"Unknown layer 'indrn'.*Did you mean 'indrnn'"):
        rnnzoo.get_layer("indrn")


def test_names_are_snake_case_and_unique():
    reg = registry.Registry("thing")
    for bad in ("Elman", "my-layer", "a/b", "", "1x", None):
        with pytest.raises(ValueError, match="invalid thing name"):
            reg.register(bad, object)
    reg.register("ok_name.tag", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("ok_name.tag", 2)


def test_aliases_keep_old_names_loadable():
    reg = registry.Registry("thing")
    reg.register("new_name", 42, aliases=("old_name",))
    assert reg.get("old_name") == 42 and "old_name" in reg
    assert reg.names() == ["new_name"]


def test_public_layer_listing():
    names = rnnzoo.list_layers()
    assert {"elman", "jordan", "fully_recurrent", "indrnn"} <= set(names)
    assert names == sorted(names, key=registry.natural_key)
    assert "indrnn" in rnnzoo.list_layers("*rnn*")
    assert all("rnn" in name for name in rnnzoo.list_layers("*rnn*"))
    assert rnnzoo.get_layer("elman") is rnnzoo.layers.Elman
    with pytest.raises(ValueError, match="pattern"):
        rnnzoo.list_layers(3)


def test_layer_kinds_partition_the_registry():
    stepwise = rnnzoo.list_layers(kind="stepwise")
    structured = rnnzoo.list_layers(kind="structured")
    assert {"elman", "lstm", "esn"} <= set(stepwise)
    assert sorted(stepwise + structured, key=registry.natural_key) == rnnzoo.list_layers()
    assert not set(stepwise) & set(structured)
    with pytest.raises(ValueError, match="kind"):
        rnnzoo.list_layers(kind="sequence")


def test_every_layer_is_registered_for_keras_serialization():
    import keras

    for name in rnnzoo.list_layers():
        cls = rnnzoo.get_layer(name)
        assert keras.saving.get_registered_name(cls) == f"rnnzoo>{cls.__name__}"
        assert cls.__doc__ and "Reference" in cls.__doc__ and "Example" in cls.__doc__
