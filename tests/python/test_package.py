"""The package surface: re-exports, the exception hierarchy, the .pyi stub, docstrings."""
import ast
import inspect
from pathlib import Path

import probesim
from probesim import _core

STUB = Path(_core.__file__).with_name("_core.pyi")


def public(names):
    return {n for n in names if not n.startswith("_")}


def core_classes():
    return {n for n in public(dir(_core)) if isinstance(getattr(_core, n), type)}


def core_constants():
    return public(dir(_core)) - core_classes()


def stub_classes():
    tree = ast.parse(STUB.read_text())
    classes = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {item.name for item in node.body
                                  if isinstance(item, ast.FunctionDef)}
    return classes


def test_package_reexports_the_core_and_exports_what_all_lists():
    assert public(dir(_core)) <= set(probesim.__all__)
    for name in probesim.__all__:
        assert hasattr(probesim, name), name
    assert probesim.ARCHES == ("x86_64", "aarch64")


def test_exceptions_form_one_hierarchy():
    assert issubclass(probesim.Error, Exception)
    assert issubclass(probesim.BadProgram, probesim.Error)
    assert issubclass(probesim.BadArgument, probesim.Error)
    assert not issubclass(probesim.BadProgram, probesim.BadArgument)


def test_the_stub_is_installed_and_declares_exactly_the_modules_classes():
    assert STUB.is_file() and STUB.with_name("py.typed").is_file()
    stub = stub_classes()
    assert set(stub) == core_classes()


def test_the_stub_declares_the_modules_constants():
    tree = ast.parse(STUB.read_text())
    annotated = {node.target.id for node in tree.body
                 if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    assert core_constants() == {"UPROBE_HANDLER_REMOVE", "UPROBE_HANDLER_IGNORE", "STOP"}
    assert core_constants() <= annotated
    assert (probesim.UPROBE_HANDLER_REMOVE, probesim.UPROBE_HANDLER_IGNORE) == (1, 2)  # Linux


def test_the_stub_declares_exactly_each_classes_public_members():
    for name, members in stub_classes().items():
        cls = getattr(_core, name)
        if issubclass(cls, BaseException):
            continue
        runtime = public(dir(cls))
        assert public(members) == runtime, name
        for dunder in members - public(members) - {"__init__"}:
            assert dunder in cls.__dict__, f"{name}.{dunder} is in the stub only"


def test_every_class_and_member_has_a_docstring():
    for name in core_classes():
        cls = getattr(_core, name)
        assert (cls.__doc__ or "").strip(), name
        for member_name in public(dir(cls)) - public(dir(BaseException)):
            member = inspect.getattr_static(cls, member_name)
            lines = [line for line in (member.__doc__ or "").splitlines() if line.strip()]
            # A property's doc is the text given; a method's starts with its signature.
            wanted = 1 if isinstance(member, property) else 2
            assert len(lines) >= wanted, f"{name}.{member_name} has no docstring"


def test_the_exceptions_of_probes_and_kernel_calls_are_probesim_errors():
    for cls in (probesim.BadProbe, probesim.KernelCallError, probesim.ProbeHandlerError):
        assert issubclass(cls, probesim.Error)
