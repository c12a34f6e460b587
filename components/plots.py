"""PNG pictures of training runs and of drift reports."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_history(records: list[dict], path: Path) -> None:
    """Draw loss and accuracy per epoch, training vs validation, from the epoch log."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(records) + 1)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(epochs, [r[metric] for r in records], label="train")
        ax.plot(epochs, [r[f"val_{metric}"] for r in records], label="validation")
        switch = next((i for i, r in enumerate(records) if r["phase"] != records[0]["phase"]), 0)
        if switch:
            ax.axvline(switch + 0.5, color="grey", linestyle=":", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_confusion_matrix(matrix: list[list[int]], classes: list[str], path: Path) -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted class)."""
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 3, 1.2 * len(classes) + 2))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_drift(signals: list[dict], title: str, path: Path) -> None:
    """Draw one panel per drift signal: the training and served shares per bin.

    Each signal is a dict with ``name``, ``status``, ``score``, ``drifted``, ``threshold``,
    ``bins``, ``training`` (shares, or None: the panel then shows the threshold as a line)
    and ``served`` (shares; empty without data).
    """
    fig, axes = plt.subplots(1, len(signals), figsize=(4.5 * len(signals), 4), squeeze=False)
    for ax, signal in zip(axes[0], signals, strict=True):
        x = range(len(signal["bins"]))
        shift = 0.2  # training and served side by side
        if signal["training"] is not None:
            left = [i - shift for i in x]
            ax.bar(left, signal["training"], width=0.4, label="training", color="tab:blue")
        else:
            shift = 0.0
            ax.axhline(signal["threshold"], color="grey", linestyle=":", label="limit")
        if signal["served"]:
            right = [i + shift for i in x]
            ax.bar(right, signal["served"], width=0.4, label="served", color="tab:orange")
        ax.set_xticks(list(x), signal["bins"], rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("share")
        score = "no data" if signal["score"] is None else f"{signal['score']:.3f}"
        colour = "tab:red" if signal["drifted"] else "black"
        ax.set_title(f"{signal['name']}: {score} ({signal['status']})", fontsize=10, color=colour)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
