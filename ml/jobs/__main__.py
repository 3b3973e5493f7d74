from ml.jobs.cli import main

main()
