from emoboost.cli import main

main()
