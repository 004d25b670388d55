def test_tasks_json_runs(ocop):
    result = ocop("tasks", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert {t["id"] for t in result.json()} >= {"1.1", "11"}
