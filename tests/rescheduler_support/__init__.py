"""Test helpers of the rescheduler tests: real SMTP and webhook receivers."""
