"""One table of entity types: ``synthstruct/pii/entities.py``; nothing else lists entity names.

A list here is a literal (set, list, tuple or dict keys) holding two or more entity names. Rules of
the column classifier and of the scanner that *compare* entities are not lists of entity types and
are named below with the reason; anything new fails until it derives from the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from synthstruct.pii import entities as E

PACKAGE = Path(__file__).resolve().parents[2] / "synthstruct"

#: ``(file, variable)`` -> why it is a rule about entities rather than a list of entity types.
RULES = {
    ("pii/column_pii.py", "_PATTERN_ENTITIES"): "classifier: entities whose column share is measured exactly",
    ("pii/column_pii.py", "_NUMERIC_ENTITIES"): "classifier: entities an all-digit column may hold",
    ("pii/column_pii.py", "_PRESIDIO_TO_OURS"): "classifier: Presidio labels that can make a whole column PII",
    ("pii/column_pii.py", "_PERSONISH"): "classifier: name hints that agree with a PERSON finding",
    ("pii/column_pii.py", "_COMPATIBLE"): "classifier: which name hints agree with which finding",
    ("pii/conventions.py", "_NUMBER_ENTITIES"): "scanner: numbers that words like 'order no.' veto",
    ("pii/conventions.py", "WORD_RULED"): "scanner: spans the common-word rules may drop (names, places, hosts)",
    ("pii/column_pii.py", "checks"): "classifier: per-entity plausibility test of a value",
    ("pii/column_pii.py", "ner"): "classifier: NER findings that may label a whole column",
    ("pii/column_pii.py", None): "classifier: comparisons inside its decision rules",
    ("pii/scanner.py", "_GATES"): "scanner: cheap pre-tests before an entity's costly regexes",
    ("pii/scanner.py", None): "scanner: the same gates, applied",
    ("pii/name_lists.py", None): "returns shares per name entity (a result, not a list)",
    ("schema/infer.py", "evidence"): "inference: name hints that agree with a name-list finding",
    ("schema/infer.py", None): "inference: hints that send a column to the PII classifier first",
    ("generate/engine.py", "_NAME_METHODS"): "sex-aware Faker methods of the two name entities",
}


def _literal_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Dict):
        items = node.keys
    elif isinstance(node, (ast.Set, ast.List, ast.Tuple)):
        items = node.elts
    else:
        return []
    return [i.value for i in items if isinstance(i, ast.Constant) and i.value in E.ALL_ENTITIES]


def entity_lists() -> list[tuple[str, str | None, int, list[str]]]:
    """``(file, assigned variable or None, line, names)`` of every literal listing 2+ entity names."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "pii/entities.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owner: dict[int, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                name = next((t.id for t in targets if isinstance(t, ast.Name)), None)
                if name and node.value is not None:
                    for sub in ast.walk(node.value):
                        owner.setdefault(id(sub), name)
        for node in ast.walk(tree):
            names = _literal_names(node)
            if len(set(names)) >= 2:
                found.append((rel, owner.get(id(node)), node.lineno, names))
    return found


def test_the_scan_finds_a_list():
    tree = ast.parse('X = {"PERSON", "US_SSN"}\nY = ("a", "PERSON")')
    assert [len(_literal_names(n)) for n in ast.walk(tree) if _literal_names(n)] == [2, 1]


def test_no_other_module_lists_entity_types():
    rogue = [f for f in entity_lists() if (f[0], f[1]) not in RULES]
    assert not rogue, "entity lists outside synthstruct/pii/entities.py (derive them from ENTITIES):\n" + "\n".join(
        f"- {file}:{line} {var or ''} {names}" for file, var, line, names in rogue)


def test_every_rule_still_exists():
    seen = {(f[0], f[1]) for f in entity_lists()}
    assert set(RULES) <= seen, f"stale entries: {sorted(set(RULES) - seen, key=str)}"


def test_rules_name_known_entities_only():
    for file, var, line, names in entity_lists():
        assert set(names) <= E.ALL_ENTITIES, (file, line)


def test_the_table_is_consistent():
    names = [e.name for e in E.ENTITIES]
    assert len(names) == len(set(names))
    assert all(n.isupper() for n in names)
    assert E.NAME_LIKE <= E.NER
    for e in E.ENTITIES:
        assert not e.blocked or e.scanned, f"{e.name}: a blocked entity must be found by default"
        assert not e.declarable or (e.faker or e.column_faker), f"{e.name}: a pii column needs a generator"


def test_default_policy_blocks_the_table_entities():
    for root in (PACKAGE / "_defaults" / "policies", PACKAGE.parent / "privacy" / "policies"):
        policy = yaml.safe_load((root / "default.yaml").read_text(encoding="utf-8"))
        assert sorted(policy["pii"]["block_entities"]) == sorted(E.DEFAULT_BLOCKED), root


def test_every_declarable_entity_has_a_column_generator():
    from faker import Faker

    from synthstruct.synthesizers.pii import _FAKERS

    fake = Faker("en_US")
    fake.seed_instance(0)
    assert set(_FAKERS) == set(E.PII_ENTITIES)
    for name, make in _FAKERS.items():
        assert str(make(fake)), name


def test_text_stand_ins_exist_in_faker():
    from faker import Faker

    fake = Faker("en_US")
    for e in E.ENTITIES:
        if e.faker:
            assert callable(getattr(fake, e.faker)), e.name
