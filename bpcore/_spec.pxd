# The codes and limits of bpcore/_spec.py for the compiled kernels (compile-time constants).
# tests/test_twins.py checks that the compiled module's tables agree with bpcore/_spec.py.

cdef enum:  # activations
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    SOFTMAX = 5
    EXP = 6  # output only, like SOFTMAX

cdef enum:  # losses
    MSE = 0
    BINARY_CROSS_ENTROPY = 1
    CROSS_ENTROPY = 2
    POISSON = 3

cdef enum:  # optimizers, and the length of each one's settings and number of state arrays
    SGD = 0
    SGD_SETTINGS = 4  # lr, momentum, nesterov, weight_decay
    SGD_STATE = 1  # velocity
    ADAM = 1
    ADAM_SETTINGS = 8  # lr, beta1, beta2, eps, weight_decay, decoupled, eps_hat, step
    ADAM_STATE = 2  # m, v
    RPROP = 2
    RPROP_SETTINGS = 7  # lr, eta_minus, eta_plus, step_min, step_max, weight_decay, step
    RPROP_STATE = 2  # step_size, previous
    N_OPTIMIZERS = 3

cdef enum:  # limits of a network's shape
    MAX_WIDTH = 1 << 24
    MAX_LAYERS = 1 << 12
