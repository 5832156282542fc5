"""
Grid search over degree and width
=================================

Neural LoFi's parameters are ordinary constructor parameters, so scikit-learn's
model selection tools tune them. Here a
:class:`~sklearn.model_selection.GridSearchCV` searches the Hermite
truncation ``degree`` of the activation (1: every filtered layer's lift is
affine, 2: each layer can build quadratic features, ``None``: the full ReLU)
and the layer ``width`` of a :class:`~sklearn_lofi.NeuralLoFiClassifier`
inside a pipeline with :class:`~sklearn.preprocessing.StandardScaler`, on the
breast cancer data set (30 features, 569 tumours).
"""

# %%
# Set up the pipeline and the grid
# --------------------------------
# The scaler comes first: a layer normalises the overall scale of its input,
# not the scale of each feature, and these features range from 1e-3 to 1e3.
# The random-feature head (``head_width``) always keeps the full ReLU, so even
# with ``degree=1`` the model stays non-linear.
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lofi import NeuralLoFiClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        ("lofi", NeuralLoFiClassifier(n_components=8, head_width=512, random_state=0)),
    ]
)
# For ReLU, degree 3 gives the same model as degree 2 (its odd Hermite
# coefficients above degree 1 vanish), so the grid holds no odd degree above 1.
param_grid = {"lofi__degree": [1, 2, None], "lofi__width": [128, 512]}
search = GridSearchCV(pipe, param_grid, cv=StratifiedKFold(5, shuffle=True, random_state=0))

# %%
# Run the search
# --------------
search.fit(X_train, y_train)

results = search.cv_results_
print(f"{'degree':>7} {'width':>6}  mean CV accuracy")
for params, mean, std in zip(results["params"], results["mean_test_score"], results["std_test_score"]):
    print(f"{params['lofi__degree']!s:>7} {params['lofi__width']:>6}  {mean:.3f} +- {std:.3f}")

print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
# The best setting is refitted on the whole training split; the test split
# holds 143 tumours, so one more mistake moves its accuracy by 0.007.
errors = int((search.predict(X_test) != y_test).sum())
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f} "
      f"({errors} of {len(y_test)} tumours misclassified)")

# %%
# Plot the scores
# ---------------
# Each point is the mean accuracy over the five folds, the bars one standard
# deviation over folds. On a data set this small, most settings lie within
# one standard deviation of each other: the search picks the best mean, but
# the printed table, not only ``best_params_``, says how much the choice
# matters.
try:
    import matplotlib.pyplot as plt
except ImportError:  # the example still runs, without its figure
    plt = None

if plt is not None:
    degrees = param_grid["lofi__degree"]
    labels = [str(d) for d in degrees]
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for shift, width in zip((-0.05, 0.05), param_grid["lofi__width"]):
        rows = [i for i, p in enumerate(results["params"]) if p["lofi__width"] == width]
        order = [next(i for i in rows if results["params"][i]["lofi__degree"] == d) for d in degrees]
        ax.errorbar(np.arange(len(degrees)) + shift, results["mean_test_score"][order],
                    yerr=results["std_test_score"][order], marker="o", capsize=3, label=f"width {width}")
    ax.set_xticks(np.arange(len(degrees)), labels)
    ax.set_xlabel("degree (None: full ReLU)")
    ax.set_ylabel("mean CV accuracy")
    ax.set_title("Breast cancer: 5-fold CV accuracy")
    ax.legend(loc="lower right")
    fig.tight_layout()
    if plt.get_backend().lower() != "agg":
        plt.show()
