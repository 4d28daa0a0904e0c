"""The machine learning, free of the database: pipelines, cross-validation, calibration and explanations."""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer, StandardScaler

from leadflow.predictive.features import BLANK
from leadflow.predictive.models import Algorithm, FeatureKind

FOLDS = 5
# Boosting needs enough of each class to find interactions; below this only logistic regression is tried.
BOOSTING_MIN_PER_CLASS = 100
CALIBRATION_BINS = 10
MAX_CATEGORIES = 30
MAX_WORDS = 40
WORD = re.compile(r"[^\W\d_]{2,}")
EXPLAIN_SAMPLE = 400
# A single feature separating the classes this well is more likely the outcome written down than a signal.
SUSPECT_AUC = 0.95
MIN_GROUP = 5


def to_float(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)


def signed_log(values: np.ndarray) -> np.ndarray:
    """Squash long-tailed counts and amounts so a linear model is not ruled by a few huge values."""
    return np.sign(values) * np.log1p(np.abs(values))


def words_of(text: str) -> list[str]:
    return [word.casefold() for word in WORD.findall(text or "")]


@dataclass
class Prepared:
    """The feature columns a model is trained on, with each column's baseline (its most common value)."""

    features: list[dict[str, Any]]
    skipped: list[dict[str, str]] = field(default_factory=list)


def prepare(names: list[tuple[str, str, str]], X: np.ndarray) -> tuple[Prepared, np.ndarray]:
    """Drop columns that cannot help (one value only, no common words); return the spec and the kept columns."""
    kept: list[int] = []
    features: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for index, (name, label, kind) in enumerate(names):
        column = X[:, index]
        spec: dict[str, Any] = {"name": name, "label": label, "kind": kind}
        if kind == FeatureKind.NUMBER:
            numbers = column.astype(float)
            known = numbers[~np.isnan(numbers)]
            if known.size == 0 or (np.all(known == known[0]) and known.size == numbers.size):
                skipped.append({"name": name, "label": label, "why": "the same for every lead"})
                continue
            spec["baseline"] = float(np.median(known))
        elif kind == FeatureKind.WORDS:
            counts = Counter(word for text in column for word in set(words_of(text)))
            vocabulary = sorted(word for word, n in counts.most_common(MAX_WORDS) if n >= 3)
            if not vocabulary:
                skipped.append({"name": name, "label": label, "why": "no word is shared by three leads"})
                continue
            spec["vocabulary"] = vocabulary
            spec["baseline"] = Counter(column).most_common(1)[0][0]
        else:
            common = Counter(column).most_common(2)
            if len(common) < 2:
                skipped.append({"name": name, "label": label, "why": "the same for every lead"})
                continue
            spec["baseline"] = common[0][0]
        kept.append(index)
        features.append(spec)
    return Prepared(features, skipped), X[:, kept]


def build_pipeline(features: list[dict[str, Any]], algorithm: str, rows: int) -> Pipeline:
    """Return an unfitted pipeline: one-hot categories (rare ones grouped), numbers, title words; then the model."""
    categories = [i for i, f in enumerate(features) if f["kind"] in {FeatureKind.CATEGORY, FeatureKind.FLAG}]
    numbers = [i for i, f in enumerate(features) if f["kind"] == FeatureKind.NUMBER]
    linear = algorithm == Algorithm.LOGISTIC
    steps: list[tuple[str, Any, Any]] = []
    if categories:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=max(5, rows // 500),
            max_categories=MAX_CATEGORIES,
            sparse_output=False,
        )
        steps.append(("categories", encoder, categories))
    if numbers:
        number_steps = [
            ("float", FunctionTransformer(to_float)),
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ]
        if linear:
            # Splines let a linear model follow curved effects (a few visits help, many help less).
            number_steps += [
                ("log", FunctionTransformer(signed_log)),
                ("splines", SplineTransformer(n_knots=5, degree=3, knots="uniform")),
                ("scale", StandardScaler()),
            ]
        steps.append(("numbers", Pipeline(number_steps), numbers))
    for i, f in enumerate(features):
        if f["kind"] == FeatureKind.WORDS:
            vectorizer = CountVectorizer(vocabulary=f["vocabulary"], binary=True, analyzer=words_of)
            steps.append((f"words_{i}", vectorizer, i))
    columns = ColumnTransformer(steps, sparse_threshold=0.0)
    if linear:
        model = LogisticRegression(C=1.0, max_iter=2000)
    else:
        model = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=500,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=rows >= 2000,
            n_iter_no_change=15,
            random_state=0,
        )
    return Pipeline([("features", columns), ("model", model)])


@dataclass
class Evaluation:
    algorithm: str
    auc: float
    fold_aucs: list[float]
    out_of_fold: np.ndarray


def cross_validate(features: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, algorithm: str) -> Evaluation:
    """Return the mean ROC AUC over stratified folds and every example's out-of-fold probability."""
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    pipeline = build_pipeline(features, algorithm, len(y))
    out = np.zeros(len(y))
    aucs = []
    for train, test in folds.split(X, y):
        fitted = clone(pipeline).fit(X[train], y[train])
        out[test] = fitted.predict_proba(X[test])[:, 1]
        aucs.append(float(roc_auc_score(y[test], out[test])))
    return Evaluation(algorithm, float(np.mean(aucs)), aucs, out)


def candidates_for(y: np.ndarray) -> list[str]:
    """Return the algorithms the data supports: boosting only with enough of both classes."""
    smaller = int(min(np.sum(y == 1), np.sum(y == 0)))
    if smaller >= BOOSTING_MIN_PER_CLASS:
        return [Algorithm.LOGISTIC, Algorithm.BOOSTING]
    return [Algorithm.LOGISTIC]


def calibration(y: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> list[list[float]]:
    """Return [mean predicted, observed rate, count] for each non-empty bin of predicted probability."""
    edges = np.minimum((probabilities * bins).astype(int), bins - 1)
    points = []
    for b in range(bins):
        chosen = edges == b
        if chosen.any():
            points.append([float(probabilities[chosen].mean()), float(y[chosen].mean()), int(chosen.sum())])
    return points


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def contributions(pipeline: Pipeline, features: list[dict[str, Any]], X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's probability and each feature's push on it in log-odds.

    A feature's push is how much the log-odds drop when that feature alone is set to its
    most common value. For logistic regression that is exactly the sum of coefficient *
    (value - common value) over the feature's columns; for boosting it is a cheap local
    measure of the same thing.
    """
    n, width = X.shape
    stacked = np.empty((n * (width + 1), width), dtype=object)
    stacked[:n] = X
    for j, f in enumerate(features):
        block = X.copy()
        block[:, j] = f["baseline"]
        stacked[n * (j + 1) : n * (j + 2)] = block
    probabilities = pipeline.predict_proba(stacked)[:, 1]
    base = probabilities[:n]
    logits = _logit(probabilities).reshape(width + 1, n)
    return base, (logits[0] - logits[1:]).T


def importance(pipeline: Pipeline, features: list[dict[str, Any]], X: np.ndarray) -> list[dict[str, Any]]:
    """Return the features by their mean absolute push over a sample of rows, as shares of the total."""
    rng = np.random.default_rng(0)
    sample = X[rng.choice(len(X), size=min(EXPLAIN_SAMPLE, len(X)), replace=False)]
    _, pushes = contributions(pipeline, features, sample)
    strength = np.abs(pushes).mean(axis=0)
    total = float(strength.sum()) or 1.0
    ranked = sorted(zip(features, strength, strict=True), key=lambda pair: -pair[1])
    return [{"name": f["name"], "label": f["label"], "weight": round(float(s) / total, 4)} for f, s in ranked]


def suspects(features: list[dict[str, Any]], X: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """Return the features that alone tell customers apart almost perfectly: likely filled in after the outcome.

    Each value of a category (seen on at least MIN_GROUP leads) is scored by its share of
    customers, a number by itself; a feature whose ROC AUC alone reaches SUSPECT_AUC is named.
    """
    found = []
    for j, f in enumerate(features):
        column = X[:, j]
        if f["kind"] == FeatureKind.NUMBER:
            scores = column.astype(float)
            scores = np.where(np.isnan(scores), np.nanmedian(scores), scores)
        elif f["kind"] == FeatureKind.WORDS:
            continue
        else:
            rates = {}
            for value, count in Counter(column).items():
                if count >= MIN_GROUP:
                    rates[value] = float(y[column == value].mean())
            scores = np.array([rates.get(value, float(y.mean())) for value in column])
        auc = float(roc_auc_score(y, scores))
        auc = max(auc, 1 - auc)
        if auc >= SUSPECT_AUC:
            found.append({"name": f["name"], "label": f["label"], "auc": round(auc, 3)})
    return found


def dump(pipeline: Pipeline) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


def load(data: bytes) -> Pipeline:
    return joblib.load(io.BytesIO(bytes(data)))


def shown_value(feature: dict[str, Any], value: Any) -> str:
    """Return a feature's value as a person reads it."""
    if feature["kind"] == FeatureKind.NUMBER:
        if isinstance(value, float) and math.isnan(value):
            return "unknown"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if feature["kind"] == FeatureKind.WORDS:
        known = [word for word in words_of(value) if word in set(feature.get("vocabulary", ()))]
        return ", ".join(known) if known else "no telling words"
    return "not given" if value == BLANK else str(value)
