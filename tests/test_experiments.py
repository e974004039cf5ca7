"""experiments/ you can find your way in (issue 24 item 6): a package run with ``python -m``,
no ``sys.path`` edits, no private names of the library, every script filed under a topic and an
index that is up to date."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXP = ROOT / "experiments"


def test_every_script_is_filed_under_a_topic():
    from experiments import index

    filed = [n for _, names in index.TOPICS.values() for n in names]
    assert len(filed) == len(set(filed))
    assert set(filed) == set(index.scripts())
    for topic, (folder, names) in index.TOPICS.items():
        for n in names:  # each script lives in its topic's folder (a subpackage)
            assert index.scripts()[n].parent == (EXP / folder).resolve(), (n, topic)


def test_no_sys_path_edits_and_no_private_library_names():
    for p in EXP.rglob("*.py"):
        text = p.read_text()
        assert "sys.path.insert" not in text and "sys.path.append" not in text, p.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hybridcodec"):
                private = [a.name for a in node.names if re.match(r"_[a-z]", a.name)]
                assert not private, f"{p.name} imports {private} from {node.module}"


def test_the_index_is_up_to_date():
    r = subprocess.run([sys.executable, "-m", "experiments.index", "--check"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_provenance_is_recorded(tmp_path, monkeypatch):
    from experiments import common

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(common, "PROVENANCE", tmp_path / "PROVENANCE.json")
    monkeypatch.setattr(sys, "argv", ["experiments/x.py", "--images", "2"])
    common.write_csv(tmp_path / "x.csv", [{"a": 1}])
    import json

    rec = json.loads((tmp_path / "PROVENANCE.json").read_text())["x.csv"]
    assert rec["command"].endswith("--images 2") and rec["commit"]


def test_the_lane_continues_a_version_or_starts_a_family_from_another(tmp_path):
    import pytest

    from experiments.train.lane import command

    run = tmp_path / "hyc-jpeg2000-full-v5"
    run.mkdir()
    (run / "hyc-jpeg2000-full-v5.pt").write_bytes(b"")
    new, cmd = command("hyc-jpeg2000-full-v5", 60, ["photos"], tmp_path)
    assert new == "hyc-jpeg2000-full-v6" and cmd[cmd.index("--rec-width") + 1] == "32"
    new, cmd = command("hyc-jpeg2000-full-m-v1:hyc-jpeg2000-full-v5", 60, ["photos"], tmp_path)
    assert new == "hyc-jpeg2000-full-m-v1" and cmd[cmd.index("--rec-width") + 1] == "48"
    assert cmd[cmd.index("--init") + 1] == str(run / "hyc-jpeg2000-full-v5.pt")
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "hyc-jpeg2000-full-m-v1")
    with pytest.raises(SystemExit, match="not a lane model"):
        command("other-v1:hyc-jpeg2000-full-v5", 60, ["photos"], tmp_path)
    with pytest.raises(SystemExit, match="neither registered"):
        command("hyc-jpeg2000-full-m-v1:hyc-jpeg2000-full-v9", 60, ["photos"], tmp_path)


def test_lane_curves_fits_the_gain_per_doubling_on_the_last_doubling():
    """The summary's dB per doubling of steps comes from the finished runs' final points within
    the last doubling; points inside a run (and an unfinished run) do not count."""
    import pytest

    from experiments.train.lane_curves import doublings

    def pt(run, steps, gain, final):
        return {"lane": "l", "run": run, "cumulative_steps": steps, "cumulative_seconds": steps,
                "gain_db": gain, "final": final}

    rows = [pt("l-v1", 1000, 0.10, 1), pt("l-v2", 1500, 0.00, 0), pt("l-v2", 2000, 0.30, 1),
            pt("l-v3", 3000, 0.35, 0), pt("l-v3", 4000, 0.40, 1), pt("l-v4", 4100, 0.1, 0)]
    (s,) = doublings(rows)
    assert s["finished_runs_fitted"] == 2 and s["db_per_doubling_of_steps"] == pytest.approx(
        0.1, abs=1e-3)
    assert s["last_run"] == "l-v4" and not s["last_run_finished"] and s["best_gain_db"] == 0.4


def test_a_lane_version_of_a_student_is_registered_as_a_student(tmp_path, monkeypatch):
    """register_models finds the registered model a lane run descends from: a run started from
    the lane's copy of ``fast-v4`` (``runs/lane/<m>/<m>.pt``) inherits its student flag, so it
    becomes the fast profile's default, not the full-resolution one."""
    from experiments.train import register_models as rm

    monkeypatch.setattr(rm, "ROOT", tmp_path)
    run = tmp_path / "runs" / "lane" / "hyc-jpeg-full-fast-v4"
    run.mkdir(parents=True)
    (run / "hyc-jpeg-full-fast-v4.pt").write_bytes(b"")
    models = {"hyc-jpeg-full-fast-v4": {"student": True}, "hyc-jpeg-full-v11": {"mode": "full"}}
    init = "runs/lane/hyc-jpeg-full-fast-v4/hyc-jpeg-full-fast-v4.pt"
    assert rm.registered_ancestor(models, init) == {"student": True}
    assert rm.registered_ancestor(models, "hyc-jpeg-full-v11") == {"mode": "full"}
    assert rm.registered_ancestor(models, "hyc-jpeg-full-fast-v4") == {"student": True}
    assert rm.registered_ancestor(models, "runs/lane/x-v1/x-v1.pt") == {}


def test_register_models_help_and_unknown_options_touch_nothing(tmp_path, monkeypatch, capsys):
    """``--help`` prints the usage and an unknown option is refused: neither installs, re-exports
    or rewrites the manifest (both used to run a refresh)."""
    from experiments.train import register_models as rm

    monkeypatch.setattr(rm, "WEIGHTS", tmp_path)
    rm.main(["--help"])
    assert "--refresh" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown option --bogus"):
        rm.main(["--bogus"])
    assert not (tmp_path / "MANIFEST.json").exists()
