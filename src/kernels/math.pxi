# ---- 1. one-point math, and loops over one flat block -----------------------------------------

# slope of leaky_relu for z < 0, and how far from 1 a row of cross-entropy targets may sum
# (bpcore/_spec.py; tests/test_twins.py checks that these agree with it)
cdef double LEAKY_SLOPE = 0.01
cdef double ROW_SUM_TOLERANCE = 1e-5


cdef inline double softplus(double z) noexcept nogil:
    # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), finite for every finite z
    return (z if z > 0 else 0.0) + log1p(bpcore_exp_nonpositive(-fabs(z)))


cdef inline Py_ssize_t total_units(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l, total = 0
    for l in range(n_layers):
        total += sizes[l + 1]
    return total


cdef inline Py_ssize_t parameter_count(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l, total = 0
    for l in range(n_layers):
        total += sizes[l + 1] * (sizes[l] + 1)
    return total


cdef enum:
    FINITE_LANES = 64  # running sums of all_finite, each over every 64th entry


cdef bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    # x - x is 0 for a finite x and NaN for NaN and +-infinity, and a sum holding a NaN stays
    # NaN: FINITE_LANES sums of it, each its own chain of adds, run in vectors (a test with an
    # exit at the first non-finite entry does not); the lanes and the last entries are then
    # tested without a chain of dependent adds, for the short rows the online steps test
    cdef floating lanes[FINITE_LANES]
    cdef Py_ssize_t i, j, whole = n - n % FINITE_LANES
    cdef bint bad = False
    if whole > 0:
        for j in range(FINITE_LANES):
            lanes[j] = x[j] - x[j]
        i = FINITE_LANES
        while i < whole:
            for j in range(FINITE_LANES):
                lanes[j] += x[i + j] - x[i + j]
            i += FINITE_LANES
        for j in range(FINITE_LANES):
            bad |= not (lanes[j] == 0)
    for i in range(whole, n):
        bad |= not (x[i] - x[i] == 0)
    return not bad


cdef enum:
    SOFTMAX_BLOCK = 64  # exps of activate_rows's softmax passes (on the stack)
    SOFTMAX_ROWS = 8    # rows of one softmax_rows pass


cdef void softmax_rows(floating* z, Py_ssize_t n, double* lse) noexcept nogil:
    # activate_rows's softmax of SOFTMAX_ROWS rows of width n <= SOFTMAX_BLOCK at once, with
    # the same arithmetic in the same order for each row: the rows go column by column into
    # t (t[j, r] = z[r, j], in double), so each step of the max, the exps and the sums runs
    # across the rows, in vectors. Row by row, the max and the two sums of a short row are
    # chains of dependent scalar operations: on a 64-128-64-10 mini-batch they took 6% of
    # the step (perf, float32).
    cdef Py_ssize_t r, j
    cdef double t[SOFTMAX_BLOCK * SOFTMAX_ROWS]
    cdef double tops[SOFTMAX_ROWS]
    cdef double totals[SOFTMAX_ROWS]
    cdef double exacts[SOFTMAX_ROWS]
    cdef double e
    cdef floating v
    for r in range(SOFTMAX_ROWS):
        for j in range(n):
            t[j * SOFTMAX_ROWS + r] = z[r * n + j]
    for r in range(SOFTMAX_ROWS):
        tops[r] = t[r]
        totals[r] = 0.0
        exacts[r] = 0.0
    for j in range(1, n):
        for r in range(SOFTMAX_ROWS):
            tops[r] = t[j * SOFTMAX_ROWS + r] if t[j * SOFTMAX_ROWS + r] > tops[r] else tops[r]
    for j in range(n):
        for r in range(SOFTMAX_ROWS):
            e = bpcore_exp_nonpositive(t[j * SOFTMAX_ROWS + r] - tops[r])
            v = <floating>e
            totals[r] += v
            exacts[r] += e
            t[j * SOFTMAX_ROWS + r] = v
    for j in range(n):
        for r in range(SOFTMAX_ROWS):
            t[j * SOFTMAX_ROWS + r] = t[j * SOFTMAX_ROWS + r] / totals[r]
    for r in range(SOFTMAX_ROWS):
        for j in range(n):
            z[r * n + j] = <floating>t[j * SOFTMAX_ROWS + r]
        if lse != NULL:
            lse[r] = tops[r] + log(exacts[r])


cdef void add_rows(floating* z, const floating* b, Py_ssize_t rows, Py_ssize_t n) noexcept nogil:
    # z[i, :] += b for each of the rows of width n
    cdef Py_ssize_t i, j
    for i in range(rows):
        for j in range(n):
            z[i * n + j] = z[i * n + j] + b[j]


cdef void activate_rows(floating* z, Py_ssize_t rows, Py_ssize_t n, Py_ssize_t activation,
                       double* lse, const floating* biases) noexcept nogil:
    # a = f(z) in place, for `rows` samples of one layer of width n. The element-wise
    # activations run one loop over the whole block and select rather than branch: the sign
    # of z is close to random, and a mispredicted branch per element took about as long as
    # the matrix products on a 64-128-64-10 relu mini-batch (perf, float32).
    # lse (NULL: not wanted) gets each row's logsumexp(z) for softmax, as sample_loss
    # computes it, from the same exps: the cross-entropy then needs none of its own. The
    # exps and tanh are module.pxi's own, in loops the compiler vectorises. biases (NULL:
    # none) are added to each row first: in the same pass for ReLU. (A BLAS product that
    # started from rows of biases copied in took a memcpy per sample and layer: with the
    # batch's gathers, 4% of a 64-128-64-10 mini-batch step went to memmove, perf, float32.)
    cdef Py_ssize_t i, j
    cdef floating v
    cdef floating* row
    cdef double top, total, exact, e
    cdef double exps[SOFTMAX_BLOCK]
    cdef Py_ssize_t start, m
    if biases != NULL and activation == RELU:
        for i in range(rows):
            row = z + i * n
            for j in range(n):
                v = row[j] + biases[j]
                row[j] = 0 if v < 0 else v  # NaN passes through
        return
    if biases != NULL:
        add_rows(z, biases, rows, n)
    if activation == SOFTMAX:
        # e^(z_j - max z) / sum_i e^(z_i - max z): short rows SOFTMAX_ROWS at a time, the
        # others row by row: the exps of a block of the row in one pass, then their sums in
        # order (a sum does not vectorise unreordered)
        i = 0
        if n <= SOFTMAX_BLOCK:
            while i + SOFTMAX_ROWS <= rows:
                softmax_rows(z + i * n, n, NULL if lse == NULL else lse + i)
                i += SOFTMAX_ROWS
        while i < rows:
            row = z + i * n
            top = row[0]
            for j in range(1, n):
                if row[j] > top:
                    top = row[j]
            total = 0.0
            exact = 0.0  # of the exps before rounding to the dtype, as sample_loss sums them
            start = 0
            while start < n:
                m = min(<Py_ssize_t>SOFTMAX_BLOCK, n - start)
                for j in range(m):
                    exps[j] = bpcore_exp_nonpositive(row[start + j] - top)
                for j in range(m):
                    row[start + j] = <floating>exps[j]
                    total += row[start + j]
                    exact += exps[j]
                start += m
            for j in range(n):
                row[j] = row[j] / total
            if lse != NULL:
                lse[i] = top + log(exact)
            i += 1
    elif activation == SIGMOID:
        # 1 / (1 + e^-z) for z >= 0 and e^z / (1 + e^z) below, so exp never overflows; the
        # sign picks the numerator (a select, not a branch): one loop, vectorised
        for i in range(rows * n):
            e = bpcore_exp_nonpositive(-fabs(<double>z[i]))
            z[i] = <floating>((1.0 if z[i] >= 0 else e) / (1.0 + e))
    elif activation == TANH:
        for i in range(rows * n):
            z[i] = <floating>bpcore_tanh(z[i])
    elif activation == RELU:
        for i in range(rows * n):
            v = z[i]
            z[i] = 0 if v < 0 else v  # NaN passes through
    elif activation == LEAKY_RELU:
        for i in range(rows * n):
            v = z[i]
            z[i] = <floating>(LEAKY_SLOPE * v) if v < 0 else v
    elif activation == EXP:
        # e^z in double, then rounded to the dtype (inf where it overflows, as e^z does)
        for i in range(rows * n):
            z[i] = <floating>exp(z[i])


cdef void times_derivative(floating* d, const floating* a, Py_ssize_t n,
                           Py_ssize_t activation) noexcept nogil:
    # d *= f'(z) element by element, with f'(z) written in terms of a = f(z) so that z need not
    # be kept for hidden layers; one branch-free loop per activation, as in activate_rows.
    # softmax and exp are output-only and their losses fuse the delta: never called for them.
    cdef Py_ssize_t i
    cdef floating one = 1, zero = 0, slope = <floating>LEAKY_SLOPE
    if activation == SIGMOID:
        for i in range(n):
            d[i] = d[i] * (a[i] * (one - a[i]))
    elif activation == TANH:
        for i in range(n):
            d[i] = d[i] * (one - a[i] * a[i])
    elif activation == RELU:
        for i in range(n):
            d[i] = d[i] * (one if a[i] > 0 else zero)
    elif activation == LEAKY_RELU:
        for i in range(n):
            d[i] = d[i] * (one if a[i] > 0 else slope)


cdef double sample_loss(const floating* a, const floating* z, const floating* y,
                        Py_ssize_t n_out, Py_ssize_t loss, const double* lse) noexcept nogil:
    # the cost C of one sample, from the output a[L] and its pre-activation z[L]; for
    # cross-entropy, lse (NULL: computed here) is the logsumexp(z) activate_rows recorded
    cdef Py_ssize_t j
    cdef double total = 0.0, diff, top, logsumexp, y_j, z_j
    if loss == MSE:
        # 0.5 * sum_j (a_j - y_j)^2
        for j in range(n_out):
            diff = a[j] - y[j]
            total += diff * diff
        return 0.5 * total
    if loss == BINARY_CROSS_ENTROPY:
        # -y log a - (1-y) log(1-a) with a = sigmoid(z) is softplus(z) - y z
        for j in range(n_out):
            total += softplus(z[j]) - y[j] * z[j]
        return total
    if loss == POISSON:
        # half Poisson deviance y log(y / a) - y + a with a = e^z is y log y - y z - y + e^z,
        # which needs no log(a); y log y is 0 at y = 0
        for j in range(n_out):
            y_j = y[j]
            z_j = z[j]
            total += (y_j * log(y_j) if y_j > 0 else 0.0) - y_j * z_j - y_j + exp(z_j)
        return total
    # cross-entropy of softmax: sum_j y_j (logsumexp(z) - z_j)
    if lse != NULL:
        logsumexp = lse[0]
    else:
        top = z[0]
        for j in range(1, n_out):
            if z[j] > top:
                top = z[j]
        for j in range(n_out):
            total += bpcore_exp_nonpositive(z[j] - top)
        logsumexp = top + log(total)
        total = 0.0
    # without a branch per term first: on one-hot targets, a branch on y_j != 0 went the
    # wrong way about once a sample (the loss took 3% of a 64-128-64-10 mini-batch step,
    # perf, float32). logsumexp >= z_j, so a zero target's term is +0 and adds nothing,
    # unless logsumexp - z_j is infinite or NaN: then the sum is NaN, and the loop below
    # takes zero targets' terms as 0 (logits of opposite signs near the largest double give
    # an infinite difference, and 0 * inf would be NaN)
    for j in range(n_out):
        total += y[j] * (logsumexp - z[j])
    if total == total:
        return total
    total = 0.0
    for j in range(n_out):
        y_j = y[j]
        total += y_j * (logsumexp - z[j]) if y_j != 0 else 0.0
    return total


cdef double batch_loss_sum(const floating* A_out, const floating* Z, const floating* Y,
                           const floating* weights, Py_ssize_t n, Py_ssize_t n_out,
                           Py_ssize_t loss, const double* lse) noexcept nogil:
    # the sum of the samples' costs, each times its weight unless weights is NULL; lse: NULL,
    # or each sample's logsumexp(z) from activate_rows (see sample_loss)
    cdef Py_ssize_t s
    cdef double total = 0.0, cost
    for s in range(n):
        cost = sample_loss(A_out + s * n_out, Z + s * n_out, Y + s * n_out, n_out, loss,
                           <const double*>NULL if lse == NULL else lse + s)
        total += cost if weights == NULL else <double>weights[s] * cost
    return total


cdef double clipped_loss_sum(const floating* A_out, const floating* Y,
                             const floating* weights, Py_ssize_t n, Py_ssize_t n_out,
                             Py_ssize_t loss, double eps) noexcept nogil:
    # scikit-learn's value of the cross-entropies: from the output probabilities clipped to
    # [eps, 1 - eps], -(y log p + (1 - y) log(1 - p)) per sigmoid output or -y log p per
    # softmax output, a term with a zero target counting 0 (xlogy); the sum over samples,
    # each times its weight unless weights is NULL
    cdef Py_ssize_t s, j
    cdef double total = 0.0, cost, p, y
    for s in range(n):
        cost = 0.0
        for j in range(n_out):
            p = A_out[s * n_out + j]
            p = eps if p < eps else (1.0 - eps if p > 1.0 - eps else p)
            y = Y[s * n_out + j]
            if y != 0:
                cost -= y * log(p)
            if loss == BINARY_CROSS_ENTROPY and y != 1:
                cost -= (1.0 - y) * log(1.0 - p)
        total += cost if weights == NULL else <double>weights[s] * cost
    return total


cdef bint targets_fit(const floating* Y, Py_ssize_t n, Py_ssize_t n_out,
                      Py_ssize_t loss) noexcept nogil:
    # the checks of bpcore._validation.as_targets on the n rows of finite targets Y, for the
    # one-call steps and samples_fit: the least and the greatest target over the whole block
    # first, then each row's sum, within half the tolerance of 1 (as_targets sums in another
    # order, so a row near the edge is left to it: it decides, and then trains the same)
    cdef floating lowest[FINITE_LANES]
    cdef floating highest[FINITE_LANES]
    cdef floating low, high
    cdef Py_ssize_t i, s, j, entries = n * n_out, whole = entries - entries % FINITE_LANES
    cdef bint bad = False
    cdef double total
    if loss == MSE:
        return True
    low, high = Y[0], Y[0]
    if whole > 0:  # the least and the greatest target, in vectors as all_finite's sums
        for j in range(FINITE_LANES):
            lowest[j], highest[j] = Y[j], Y[j]
        i = FINITE_LANES
        while i < whole:
            for j in range(FINITE_LANES):
                lowest[j] = Y[i + j] if Y[i + j] < lowest[j] else lowest[j]
                highest[j] = Y[i + j] if Y[i + j] > highest[j] else highest[j]
            i += FINITE_LANES
        for j in range(FINITE_LANES):
            low, high = min(low, lowest[j]), max(high, highest[j])
    for i in range(whole, entries):
        low, high = min(low, Y[i]), max(high, Y[i])
    if loss == POISSON:
        return low >= 0
    if not (low >= 0 and high <= 1):
        return False
    if loss == BINARY_CROSS_ENTROPY:
        return True
    for s in range(n):
        total = 0.0
        for j in range(n_out):
            total += Y[s * n_out + j]
        bad |= not (fabs(total - 1.0) <= 0.5 * ROW_SUM_TOLERANCE)
    return not bad


cdef bint rows_fit(const floating* X, Py_ssize_t n_in, const floating* Y, Py_ssize_t n_out,
                   Py_ssize_t n, Py_ssize_t loss) noexcept nogil:
    # the n rows of X and Y finite, and Y's targets the loss accepts (samples_fit and the
    # one-call steps)
    return (all_finite(X, n * n_in) and all_finite(Y, n * n_out)
            and targets_fit(Y, n, n_out, loss))
