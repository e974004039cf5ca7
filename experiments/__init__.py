"""The experiments: scripts that measure the codec and train its networks, filed by topic in
folders (``rd``, ``speed``, ``train``, ``adapt``, ``ci``) and each run from the repository root as
``python -m experiments.<topic>.<script>`` (no ``sys.path`` edits: hybridcodec is the installed
package), writing under ``experiments/results/`` with the command and commit that made each file
(``experiments/results/PROVENANCE.json``); ``python -m experiments.index`` writes the index,
``experiments/INDEX.md``."""
