import pytest

from msh_common.secrets import InsecureConfiguration, refuse_dev_secrets


def test_production_refuses_development_and_empty_secrets():
    with pytest.raises(InsecureConfiguration) as info:
        refuse_dev_secrets(
            "production",
            {"DJANGO_SECRET_KEY": "dev-insecure-abc", "DB_PASSWORD": "", "OK": "s3cr3t-real"},
        )
    assert "DB_PASSWORD" in str(info.value)
    assert "DJANGO_SECRET_KEY" in str(info.value)
    assert "OK" not in str(info.value)


def test_development_accepts_development_secrets():
    refuse_dev_secrets("development", {"DJANGO_SECRET_KEY": "dev-insecure-abc"})


def test_production_accepts_real_secrets():
    refuse_dev_secrets("production", {"DJANGO_SECRET_KEY": "a-long-random-production-value"})
