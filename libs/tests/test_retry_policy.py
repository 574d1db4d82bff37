from msh_events.config import RetryPolicy


def test_backoff_doubles_is_capped_and_jittered_within_its_upper_half():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=10.0)
    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    for retries, ceiling in enumerate(ceilings):
        draws = [policy.countdown(retries) for _ in range(200)]
        assert all(ceiling / 2 <= draw <= ceiling for draw in draws), (retries, draws)
        # spread over the range, not one fixed value: failures that came together part ways
        assert max(draws) - min(draws) > ceiling / 4, (retries, draws)
