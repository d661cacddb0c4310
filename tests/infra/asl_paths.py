"""Every path of a Step Functions definition, walked with what each Choice branch proves.

A small abstract interpreter for the Amazon States Language subset the workflow uses (Task, Pass,
Choice, Wait, Succeed, Fail; Catch and Default edges; JSONPath ResultPath writes), built for the
all-paths money proof in test_money_paths.py. It runs on the *synthesized* definition, not on the
Python that builds it, so a rewired edge in the template is what it sees.

What a path knows
    Taking a Choice branch proves the branch's rule (each conjunct of an ``And`` of comparisons
    becomes a *fact* about a JSONPath) and disproves the rules before it (a single comparison
    becomes a negated fact; a conjunction becomes a *clause*: not all of them). A state that writes
    a path (ResultPath, or the whole document) forgets every fact and clause about it, and records
    itself as that path's *writer*. A branch that contradicts what the path knows is never taken
    (so the plan's fields, tested once, steer every later Choice the same way), and neither is one
    that proves a value of a slot no state has written since the start (it is still null).

Loops
    The walk is a depth-first search over (state, facts, clauses, writers, flags): a path that
    comes back to a state knowing exactly what it knew there before has nothing new to show, so
    loops are walked until they stop teaching anything (each wait loop about twice). Every path
    from ``StartAt`` is covered: any longer path repeats an explored situation.

Rules are callbacks on each step (:class:`Walker` subclasses): they keep flags (what was bought,
what was released) and report violations with the path that shows them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

# The comparison operators a fact can carry (the JSONPath Choice rules the workflow uses).
COMPARISONS: Final = (
    "StringEquals",
    "BooleanEquals",
    "NumericEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "IsNull",
    "IsPresent",
    "IsBoolean",
    "IsString",
    "IsNumeric",
)
SUPPORTED_TYPES: Final = frozenset({"Task", "Pass", "Choice", "Wait", "Succeed", "Fail"})


@dataclass(frozen=True, order=True)
class Fact:
    """``variable <operator> value`` is ``holds`` (True: proven; False: disproven), established by
    the Choice state ``by``."""

    variable: str
    operator: str
    value: Any
    holds: bool
    by: str = field(compare=False)

    def literal(self) -> tuple[str, str, Any, bool]:
        return (self.variable, self.operator, self.value, self.holds)

    def __str__(self) -> str:
        return f"{self.variable} {self.operator} {self.value!r}{'' if self.holds else ' (false)'}"


@dataclass(frozen=True)
class Situation:
    """What one path knows on entering ``state`` (the memo key of the walk)."""

    state: str
    facts: frozenset[Fact] = frozenset()
    # Each clause: literals of which not all hold (a conjunction a Choice branch disproved).
    clauses: frozenset[frozenset[tuple[str, str, Any, bool]]] = frozenset()
    writers: tuple[tuple[str, str], ...] = ()  # (tracked path written, the state that wrote it), sorted
    written: frozenset[str] = frozenset()  # every path some state wrote since the start
    flags: tuple[tuple[str, Any], ...] = ()  # the rules' bookkeeping, sorted

    def writer(self, path: str) -> str | None:
        return dict(self.writers).get(path)

    def flag(self, name: str, default: Any = None) -> Any:
        return dict(self.flags).get(name, default)

    def with_flags(self, **changes: Any) -> Situation:
        flags = dict(self.flags) | changes
        return replace(self, flags=tuple(sorted((k, v) for k, v in flags.items() if v is not None)))

    def knows(
        self, variable: str, operator: str, value: Any, *, by_any_of: frozenset[str] | None = None
    ) -> bool:
        """Whether a fact proves ``variable <operator> value`` (optionally: proven by one of these states)."""
        return any(
            f.literal() == (variable, operator, value, True) and (by_any_of is None or f.by in by_any_of)
            for f in self.facts
        )


@dataclass(frozen=True)
class Edge:
    kind: str  # "next" | "choice" | "default" | "catch"
    target: str
    facts: tuple[Fact, ...] = ()
    clauses: tuple[frozenset[tuple[str, str, Any, bool]], ...] = ()
    writes: str | None = None  # the ResultPath a Catch writes


@dataclass(frozen=True)
class Violation:
    rule: str
    state: str
    detail: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        shown = " -> ".join(self.path[-14:])
        return f"[{self.rule}] at {self.state!r}: {self.detail}\n    path (last steps): {shown}"


class DefinitionError(ValueError):
    """A definition this walker does not understand: it refuses rather than guess."""


# --------------------------------------------------------------------------------------------------
# Reading the definition
# --------------------------------------------------------------------------------------------------


def _top_slot(path: str) -> str:
    """``$.evaluation.passed`` -> ``$.evaluation`` (the slot a state writes as a whole)."""
    parts = path.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else path


def _literals(rule: Mapping[str, Any], by: str) -> tuple[Fact, ...] | None:
    """The facts a rule proves when true: its comparisons, or those of an ``And`` of comparisons.

    None when the rule is not a conjunction of comparisons (an ``Or``, a ``Not``): taking it proves
    nothing this walker can use, which only ever makes it know less.
    """
    if "And" in rule:
        facts: list[Fact] = []
        for part in rule["And"]:
            inner = _literals(part, by)
            if inner is None:
                continue  # an Or inside an And proves nothing about its own variables
            facts.extend(inner)
        return tuple(facts)
    if "Or" in rule or "Not" in rule:
        return None
    variable = rule.get("Variable")
    operators = [op for op in rule if op not in ("Variable", "Next")]
    if not isinstance(variable, str) or len(operators) != 1:
        raise DefinitionError(f"choice rule not understood: {rule}")
    (operator,) = operators
    if operator not in COMPARISONS:
        raise DefinitionError(f"choice rule operator {operator!r} not supported: {rule}")
    return (Fact(variable, operator, rule[operator], True, by),)


def edges(name: str, state: Mapping[str, Any]) -> list[Edge]:
    """Every way out of a state, each with what taking it proves."""
    kind = state.get("Type")
    if kind not in SUPPORTED_TYPES:
        raise DefinitionError(f"state {name!r} of type {kind!r} is not supported by the walker")
    if kind in ("Succeed", "Fail"):
        return []
    if kind == "Choice":
        out: list[Edge] = []
        disproven: list[tuple[Fact, ...] | None] = []
        for rule in state["Choices"]:
            proven = _literals(rule, name) or ()
            facts, clauses = _negations(disproven, name)
            out.append(Edge("choice", rule["Next"], facts + proven, clauses))
            disproven.append(_literals(rule, name))
        if "Default" in state:
            facts, clauses = _negations(disproven, name)
            out.append(Edge("default", state["Default"], facts, clauses))
        return out
    out = []
    if "Next" in state:
        out.append(Edge("next", state["Next"]))
    elif not state.get("End"):
        raise DefinitionError(f"state {name!r} has neither Next nor End")
    for catch in state.get("Catch", []):
        out.append(Edge("catch", catch["Next"], writes=catch.get("ResultPath", "$")))
    return out


def _negations(
    disproven: Sequence[tuple[Fact, ...] | None], by: str
) -> tuple[tuple[Fact, ...], tuple[frozenset[tuple[str, str, Any, bool]], ...]]:
    facts: list[Fact] = []
    clauses: list[frozenset[tuple[str, str, Any, bool]]] = []
    for literals in disproven:
        if not literals:
            continue  # an Or/Not rule was false: nothing usable
        if len(literals) == 1:
            (only,) = literals
            facts.append(Fact(only.variable, only.operator, only.value, False, by))
        else:
            clauses.append(frozenset(f.literal() for f in literals))
    return tuple(facts), tuple(clauses)


def result_write(state: Mapping[str, Any]) -> str | None:
    """The path a state's own result writes: its ResultPath (None: discarded), else the whole ``$``."""
    if state.get("Type") not in ("Task", "Pass"):
        return None
    if "ResultPath" in state:
        return state["ResultPath"]  # type: ignore[no-any-return]
    return "$"


# --------------------------------------------------------------------------------------------------
# What a path can know
# --------------------------------------------------------------------------------------------------


_EQUALS: Final = frozenset({"StringEquals", "BooleanEquals", "NumericEquals"})


def _absent(literal: tuple[str, str, Any, bool]) -> bool:
    _v, operator, value, holds = literal
    return operator == "IsPresent" and bool(value) != holds


def _null(literal: tuple[str, str, Any, bool]) -> bool:
    _v, operator, value, holds = literal
    return operator == "IsNull" and bool(value) == holds


def _has_value(literal: tuple[str, str, Any, bool]) -> bool:
    """The literal says the variable holds a particular non-null value."""
    _v, operator, _value, holds = literal
    return holds and (
        operator in _EQUALS | {"IsBoolean", "IsString", "IsNumeric"} or operator.startswith("Numeric")
    )


def _contradicts(a: tuple[str, str, Any, bool], b: tuple[str, str, Any, bool]) -> bool:
    """Whether two literals cannot both hold."""
    for x, y in ((a, b), (b, a)):
        vx, ox, valx, hx = x
        vy, oy, valy, hy = y
        if vx == vy:
            if (ox, valx) == (oy, valy) and hx != hy:
                return True
            if hx and hy and ox == oy and ox in _EQUALS and valx != valy:
                return True
            if (_null(x) or _absent(x)) and _has_value(y):
                return True
            if _absent(x) and _null(y):
                return True
        elif vy.startswith(vx + ".") and (_null(x) or _absent(x)) and (_has_value(y) or _null(y)):
            return True  # a value below a path that is null or absent
    return False


def consistent(facts: frozenset[Fact], clauses: frozenset[frozenset[tuple[str, str, Any, bool]]]) -> bool:
    literals = [f.literal() for f in facts]
    for i, a in enumerate(literals):
        for b in literals[i + 1 :]:
            if _contradicts(a, b):
                return False
    known = set(literals)
    return all(not clause <= known for clause in clauses)


def _forget(situation: Situation, path: str, writer: str, tracked: frozenset[str] | None = None) -> Situation:
    """``path`` was written: forget what was known about it and below, and remember who wrote it
    (for the ``tracked`` paths only: who wrote the others changes no rule's answer)."""
    if path == "$":
        return replace(
            situation,
            facts=frozenset(),
            clauses=frozenset(),
            writers=(("$", writer),),
            written=frozenset({"$"}),
        )

    def about(variable: str) -> bool:
        return variable == path or variable.startswith(path + ".") or path.startswith(variable + ".")

    facts = frozenset(f for f in situation.facts if not about(f.variable))
    clauses = frozenset(c for c in situation.clauses if not any(about(lit[0]) for lit in c))
    writers = dict(situation.writers)
    writers = {p: w for p, w in writers.items() if not (p.startswith(path + ".") or p == path)}
    if tracked is None or path in tracked:
        writers[path] = writer
    return replace(
        situation,
        facts=facts,
        clauses=clauses,
        writers=tuple(sorted(writers.items())),
        written=situation.written | {path},
    )


def _written(situation: Situation, variable: str) -> bool:
    """Whether some state wrote the slot of ``variable`` (or the whole document) after the start."""
    slot = _top_slot(variable)
    return any(
        p == slot or slot.startswith(p + ".") or p.startswith(slot + ".")
        for p in situation.written
        if p != "$"
    )


def _rule_variables(rule: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    if isinstance(rule.get("Variable"), str):
        found.add(rule["Variable"])
    for key in ("And", "Or"):
        for part in rule.get(key) or []:
            found |= _rule_variables(part)
    if isinstance(rule.get("Not"), Mapping):
        found |= _rule_variables(rule["Not"])
    return found


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def useful_variables(states: Mapping[str, Mapping[str, Any]], queried: frozenset[str]) -> frozenset[str]:
    """The variables whose facts can change what a path does or what a rule answers: those tested
    (themselves or a path above or below them) by two Choice states or more, or queried by a rule.
    A fact about anything else (which job variant ran, a wait loop's last check) would only split
    situations that behave the same, so the walk forgets it."""
    per_choice = [
        set().union(*(_rule_variables(rule) for rule in state.get("Choices", [])))
        for state in states.values()
        if state.get("Type") == "Choice"
    ]
    every = set().union(*per_choice) if per_choice else set()
    useful = {
        v
        for v in every
        if sum(1 for variables in per_choice if any(_related(v, u) for u in variables)) >= 2
        or any(_related(v, q) for q in queried)
    }
    return frozenset(useful)


# --------------------------------------------------------------------------------------------------
# The walk
# --------------------------------------------------------------------------------------------------


@dataclass
class Walk:
    situations: int = 0
    terminals: int = 0
    violations: list[Violation] = field(default_factory=list)


class Walker:
    """Walks every path of a definition; subclasses check rules in :meth:`enter`.

    ``enter`` sees each state as a path enters it and returns the situation to go on with (new
    flags); ``leave`` sees each terminal state (Succeed/Fail) at the end of a path.
    """

    # Paths whose writer the rules ask about (None: every path), and variables they ask facts of.
    tracked: frozenset[str] | None = None
    queried: frozenset[str] = frozenset()

    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.definition = definition
        self.states: Mapping[str, Mapping[str, Any]] = definition["States"]
        self.walk = Walk()
        self.useful = useful_variables(self.states, self.queried)

    # -- hooks -----------------------------------------------------------------------------------

    def enter(self, situation: Situation, path: tuple[str, ...]) -> Situation:
        return situation

    def leave(self, situation: Situation, path: tuple[str, ...]) -> None:
        return None

    def violation(self, rule: str, state: str, detail: str, path: tuple[str, ...]) -> None:
        self.walk.violations.append(Violation(rule, state, detail, path))

    # -- the walk --------------------------------------------------------------------------------

    def run(self) -> Walk:
        seen: set[Situation] = set()
        start = Situation(self.definition["StartAt"])
        stack: list[tuple[Situation, tuple[str, ...]]] = [(start, (start.state,))]
        while stack:
            situation, path = stack.pop()
            if situation in seen:
                continue
            seen.add(situation)
            self.walk.situations += 1
            name = situation.state
            if name not in self.states:
                raise DefinitionError(f"a transition names a state that does not exist: {name!r}")
            state = self.states[name]
            situation = self.enter(situation, path)
            outgoing = edges(name, state)
            if not outgoing:
                self.walk.terminals += 1
                self.leave(situation, path)
                continue
            for edge in outgoing:
                nxt = self._take(situation, name, state, edge)
                if nxt is not None:
                    stack.append((nxt, (*path, edge.target)))
        return self.walk

    def _take(
        self, situation: Situation, name: str, state: Mapping[str, Any], edge: Edge
    ) -> Situation | None:
        after = situation
        if edge.kind == "next":
            write = result_write(state)
            if write is not None:
                after = _forget(after, write, name, self.tracked)
        elif edge.kind == "catch" and edge.writes is not None:
            after = _forget(after, edge.writes, name, self.tracked)
        if edge.kind in ("choice", "default"):
            for fact in edge.facts:
                if fact.holds and fact.operator != "IsNull" and not _written(after, fact.variable):
                    return None  # proves a value of a slot still null since the start: never taken
            facts = after.facts | frozenset(edge.facts)
            clauses = after.clauses | frozenset(edge.clauses)
            if not consistent(facts, clauses):
                return None
            # Kept only what can still decide a Choice or a rule (see useful_variables).
            facts = frozenset(f for f in facts if f.variable in self.useful)
            clauses = frozenset(c for c in clauses if all(lit[0] in self.useful for lit in c))
            after = replace(after, facts=facts, clauses=clauses)
        return replace(after, state=edge.target)


def predecessors(states: Mapping[str, Mapping[str, Any]]) -> dict[str, list[tuple[str, Edge]]]:
    """For each state, the (state, edge) pairs that lead to it."""
    into: dict[str, list[tuple[str, Edge]]] = {name: [] for name in states}
    for name, state in states.items():
        for edge in edges(name, state):
            into.setdefault(edge.target, []).append((name, edge))
    return into


def reachable(states: Mapping[str, Mapping[str, Any]], start: str, *, stop: frozenset[str]) -> Iterator[str]:
    """States reachable from ``start`` by Next and Choice edges (not Catch), not going past ``stop``."""
    seen = {start}
    todo = [start]
    while todo:
        name = todo.pop()
        yield name
        if name in stop:
            continue
        for edge in edges(name, states[name]):
            if edge.kind != "catch" and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
