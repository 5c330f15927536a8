"""Operations: the `yishi` command, rebuild, replay, audit checkpoints, generated documents."""
