"""Parameter descriptions shared by the public estimators."""

_PARAMETERS = {
    "n_layers": """n_layers : int, default={n_layers}
        Number of {layer_kind} layers before the {after}.""",
    "width": """width : int or sequence of int, default={width}
        Width ``P`` of each layer's random lift: one value for every layer,
        or one per layer (a sequence of length ``n_layers``).""",
    "n_components": """n_components : int or sequence of int, default={n_components}
        Number ``K`` of directions each filtered layer keeps (one value, or
        one per layer). When the label-weighted operator has lower numerical
        rank (at most ``n_samples`` and ``width``) fewer are kept, with a
        warning; the kept counts are in ``n_components_``.""",
    "degree": """degree : int or None, default=None
        Hermite truncation of the activation: ``degree=d`` replaces the
        activation by the first ``d + 1`` terms of its expansion in
        normalised Hermite polynomials, so that each layer can only form
        polynomials of degree ``<= d`` of its (normalised) input (the series
        is evaluated at pre-activations clipped to ``[-4, 4]``, so that rare
        outlying rows saturate instead of growing like ``|t|**d``). ``None``
        keeps the full activation. The random-feature head of the predictors
        always uses the full activation (a layer keeps directions whose
        *squares* carry the label, so the head must stay non-linear).""",
    "activation": """activation : {{"relu", "erf", "tanh", "sigmoid", "identity"}}, default="relu"
        Pointwise non-linearity of every lift. Odd activations (``erf``,
        ``tanh``, ``identity``) can only form odd functions of the input.""",
    "head_width": """head_width : int, default={head_width}
        Width of the unfiltered random-feature lift between the last layer
        and the ridge readout (the paper's "plain random-feature head").
        ``0`` fits the readout on the last representation directly.""",
    "head": """head : bool, default=True
        End with an unfiltered infinite-width layer (the limit of the finite
        estimators' random-feature head, full activation) and a kernel ridge
        readout on its kernel. ``False`` fits the readout on the last
        representation directly: ridge on the last filtered features, or
        kernel ridge on the last NNGP kernel.""",
    "kernel_n_components": """n_components : int or sequence of int, default={n_components}
        Number ``K`` of directions each filtered layer keeps (one value, or
        one per layer). When the whitened operator has lower numerical rank
        (at most ``n_samples``) fewer are kept, with a warning; the kept
        counts are in ``n_components_``.""",
    "kernel_degree": """degree : int or None, default=None
        Hermite truncation of the activation of the filtered (or NNGP)
        layers, as in the finite estimators: each layer's kernel is that of
        the first ``d + 1`` terms of the activation's expansion in normalised
        Hermite polynomials, evaluated at pre-activations clipped to
        ``[-4, 4]``. ``None`` keeps the full activation. The head always uses
        the full activation.""",
    "kernel_activation": """activation : {{"relu", "erf", "tanh", "sigmoid", "identity"}}, default="relu"
        Pointwise non-linearity whose NNGP kernel every layer uses (the
        limit of a finite lift with it). Odd activations (``erf``, ``tanh``,
        ``identity``) can only form odd functions of the input.""",
    "kernel_random_state": """random_state : int, RandomState instance or None, default=None
        Seeds the eigensolver of the filtered layers: ARPACK's start vector
        and the randomized solver's random block (``eig_solver="auto"``
        picks the randomized solver for large ``n_samples``; ``verbose=1``
        shows which ran). There are no random lifts. With ``None`` two fits
        can differ by the randomized solver's approximation error (measured
        up to 4e-3 in ``predict_proba`` at n = 3000); pass an int for
        reproducible results.""",
    "kernel_eig_solver": """eig_solver : {{"auto", "dense", "arpack", "randomized"}}, default="auto"
        Eigensolver of each filtered layer's ``n_samples x n_samples``
        whitened operator (the same solvers and ``"auto"`` rule as the finite
        estimators, with ``width`` replaced by ``n_samples``). The kernel's
        own whitening always uses LAPACK's divide-and-conquer ``eigh``.""",
    "alpha": """alpha : float, array-like of float or None, default=None
        Ridge strength of the readout. A float fixes it; an array-like gives
        candidates chosen by leave-one-out on the training data; ``None`` uses
        the candidates ``numpy.logspace(-6, 6, 25)``.""",
    "label_centering": """label_centering : bool, default={label_centering}
        Subtract the (weighted) mean of the labels before forming the
        label-weighted operator. Without centring, imbalanced classes shift
        the operator towards the plain (label-free) covariance.""",
    "selection": """selection : {{"abs", "positive", "negative"}}, default="abs"
        Which eigen-directions of a scalar label's operator a layer keeps: the
        largest ``|eigenvalue|`` (both signs), or only the most positive or
        most negative. Vector labels (multi-class, multi-output) support only
        ``"abs"``.""",
    "eig_solver": """eig_solver : {{"auto", "dense", "arpack", "randomized"}}, default="auto"
        Eigensolver of the ``width x width`` operator: LAPACK's dense ``eigh``,
        ARPACK's Lanczos for a few directions of a wide layer, or randomized
        block subspace iteration on the matrix-free operator (the operator is
        never formed; approximate, for very wide layers). ``"auto"`` picks,
        per layer, randomized when its passes over the lifted features cost
        fewer flops than forming the operator, or when the operator would
        not fit in scikit-learn's ``working_memory``; otherwise ARPACK when
        ``width >= 200`` and ``n_components <= width / 4``, dense for the
        rest. The rule and its measurements are in the documentation's
        performance page; ``verbose=1`` prints the solver of each layer.""",
    "target_type": """target_type : {{"auto", "continuous", "binary", "multiclass"}}, default="auto"
        How ``y`` becomes the operator's labels: a +-1 scalar for binary
        targets, one-hot columns for multi-class ones, the values themselves
        for continuous (single or multi-output) ones. ``"auto"`` infers it
        with :func:`sklearn.utils.multiclass.type_of_target`. ``"binary"``
        needs exactly two classes; two classes are coded +-1 whatever the
        setting.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
        Seeds the random lifts (and the ARPACK start vector). Pass an int for
        reproducible results. ``None`` draws fresh randomness and never touches
        NumPy's global generator.""",
    "n_jobs": """n_jobs : int or None, default=None
        Threads of the compiled kernels (activations, row weighting, NNGP
        kernels). ``None`` keeps numba's current setting, ``-1`` uses all
        threads numba started with; the value is clamped to that number.
        In a task on a Dask worker, ``None`` takes the worker's share of its
        host's cores, as do the tasks of an out-of-core fit whatever the
        value (:ref:`distributed`). Results do not depend on it. Matrix
        products use the BLAS thread pool (control it with ``threadpoolctl``).""",
    "verbose": """verbose : int, default=0
        Print one line per layer during ``fit`` when positive.""",
}


def fill_doc(**defaults):
    """Substitute ``{parameters:name,name,...}``-style blocks in a docstring.

    The class docstring contains ``{params}``; it is replaced by the shared
    descriptions of the names given in ``defaults["names"]``, formatted with
    the remaining ``defaults``.
    """
    names = defaults.pop("names")

    def decorate(cls):
        block = "\n\n    ".join(_PARAMETERS[name].format(**defaults) for name in names)
        cls.__doc__ = cls.__doc__.replace("{params}", block)
        return cls

    return decorate
