"""Build step: compile the translations into every built package.

Everything else about the package is declared in pyproject.toml. The catalogues' source is the `.po` file; the
`.mo` beside it in the source tree serves an editable install and may lag behind, so a wheel always gets a `.mo`
freshly compiled from the `.po` it ships (as `pybabel compile -f` does: fuzzy entries included).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUES = ("app/translations",)


class build_py_with_translations(build_py):  # noqa: N801 - setuptools command names are lower case
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self._compile_catalogues()

    def _mo_targets(self) -> list[tuple[Path, Path]]:
        pairs = []
        for folder in CATALOGUES:
            for po in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
                pairs.append((po, Path(self.build_lib) / po.with_suffix(".mo")))
        return pairs

    def _compile_catalogues(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po, mo in self._mo_targets():
            with po.open("rb") as source:
                catalogue = read_po(source)
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as target:
                write_mo(target, catalogue, use_fuzzy=True)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            outputs += [str(mo) for _, mo in self._mo_targets() if str(mo) not in outputs]
        return outputs


setup(cmdclass={"build_py": build_py_with_translations})
