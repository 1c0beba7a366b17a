from vidstyle.cli import main

main()
