"""One line describing the machine and date, printed at the top of every benchmark."""
import datetime
import os
import platform


def describe() -> str:
    from utils.models.cost import cpu_info

    cpu = cpu_info().model
    memory = ""
    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{datetime.date.today().isoformat()} · {cpu} · {cores} cores{memory} · {platform.system()}"
