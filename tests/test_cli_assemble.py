"""The ``pihamno`` entry point and the ``assemble`` demo verb."""

import subprocess
import sys

import pytest

from pihamno.cli import main


def test_assemble_prints_what_it_built(capsys):
    assert main(["assemble", "--n", "5", "--L", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "125 nodes, 384 tetrahedra" in out
    assert "sum(M_L) - L^3 =" in out and "symmetric=True" in out


def test_assemble_a_mesh_file(capsys):
    assert main(["assemble", "--mesh", "meshes/cube_gmsh_h0.5_L2.msh", "--element", "P2", "--device", "cpu"]) == 0
    assert "P2 on 144 nodes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["assemble", "--mesh", "does/not/exist.msh"], "does not exist"),
        (["assemble", "--n", "1"], "n must be an integer >= 2"),
        (["assemble", "--device", "cuda:7"] if not __import__("torch").cuda.is_available() else ["assemble", "--L", "-1"], ""),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pihamno: error: ") and message in err and len(err.splitlines()) == 1


def test_help_lists_verbs():
    out = subprocess.run([sys.executable, "-m", "pihamno", "--help"], capture_output=True, text=True, check=True).stdout
    assert "assemble" in out
