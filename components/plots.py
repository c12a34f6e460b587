"""PNG pictures of training runs."""

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
