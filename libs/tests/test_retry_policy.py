from msh_events.tasks import RetryPolicy


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=10.0)
    assert [policy.countdown(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
