"""
Grid search over degree and width
=================================

Neural LoFi's parameters are ordinary constructor parameters, so scikit-learn's
model selection tools tune them. Here a
:class:`~sklearn.model_selection.GridSearchCV` searches the Hermite
truncation ``degree`` of the activation (1: every lift is affine, 2: each layer
can build quadratic features, ``None``: the full ReLU) and the layer ``width``
of a :class:`~sklearn_lofi.NeuralLoFiClassifier` inside a pipeline with
:class:`~sklearn.preprocessing.StandardScaler`, on the breast cancer data set.
"""

# %%
# Set up the pipeline and the grid
# --------------------------------
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
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
param_grid = {"lofi__degree": [1, 2, None], "lofi__width": [256, 512]}
search = GridSearchCV(pipe, param_grid, cv=3)

# %%
# Run the search
# --------------
search.fit(X_train, y_train)

results = search.cv_results_
print(f"{'degree':>7} {'width':>6}  mean CV accuracy")
for params, mean, std in zip(results["params"], results["mean_test_score"], results["std_test_score"]):
    degree = "None" if params["lofi__degree"] is None else params["lofi__degree"]
    print(f"{degree:>7} {params['lofi__width']:>6}  {mean:.3f} +- {std:.3f}")

print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")
