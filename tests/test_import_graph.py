"""The integration depends on the core, never the reverse (issue 15, item 14): no import cycle between
backend/ and email_integration/, and the core reaches the integration only through guarded seams."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("backend", "email_integration")


def modules() -> dict[str, str]:
    """Every module of the packages, subpackages included (email_integration's since issue 20)."""
    found = {}
    for package in PACKAGES:
        for folder, dirs, files in os.walk(os.path.join(ROOT, package)):
            dirs[:] = sorted(d for d in dirs if os.path.exists(os.path.join(folder, d, "__init__.py")))
            dotted = os.path.relpath(folder, ROOT).replace(os.sep, ".")
            for name in sorted(files):
                if name.endswith(".py") and not name.startswith("test_"):
                    found[dotted if name == "__init__.py" else f"{dotted}.{name[:-3]}"] = os.path.join(folder, name)
    return found


def parse(path: str) -> ast.AST:
    with open(path, encoding="utf-8") as handle:
        return ast.parse(handle.read())


def imports_of(module: str, tree: ast.AST, known: dict[str, str]):
    """(imported module, ast node) for every import in the module, function-level ones included;
    `known`: every module's path (modules())."""
    is_package = known[module].endswith("__init__.py")
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = ".".join(package.split(".")[:len(package.split(".")) - (node.level - 1)])
                base = anchor + ("." + base if base else "")
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield (candidate if candidate in known else base), node


def graph() -> dict[str, set[str]]:
    found = modules()
    return {module: {target for target, _ in imports_of(module, parse(path), found) if target in found and target != module}
            for module, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once from its first node)."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_cycle_between_the_server_and_the_integration():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def guarded(tree: ast.AST, node: ast.AST) -> bool:
    """True when `node` sits in the body of a try whose handlers catch ImportError."""
    for parent in ast.walk(tree):
        if isinstance(parent, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in parent.handlers):
            if any(node is inner for stmt in parent.body for inner in ast.walk(stmt)):
                return True
    return False


def test_the_core_reaches_the_integration_only_through_guarded_seams():
    found = modules()
    reaching = []
    for module, path in found.items():
        if not module.startswith("backend"):
            continue
        tree = parse(path)
        for target, node in imports_of(module, tree, found):
            if target.split(".")[0] == "email_integration":
                reaching.append((module, target, guarded(tree, node)))
    assert {(m, t) for m, t, _ in reaching} == {
        ("backend.server", "email_integration.db"),        # seed Patch 1: migrations in init_db
        ("backend.server", "email_integration.scheduler"),  # seed Patch 2: the sync scheduler
        ("backend.server", "email_integration.routes"),     # seed Patch 3: try_handle
        ("backend.server", "email_integration.config"),     # start-up validation of CRM_GMAIL_*
        ("backend.server", "email_integration.relationships"),  # registers the email_source provider
    }
    assert all(ok for _, _, ok in reaching), reaching
